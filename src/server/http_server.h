// HTTP/1.1 server on Boost.Beast: keep-alive, chunked streaming responses, optional TLS 1.3,
// limits on header bytes, body bytes, request time and idle time, graceful shutdown.
//
// All I/O is asynchronous on a small pool of io threads, so a slow or idle client holds no thread.
// The handler is called on an io thread once a complete, size-checked request has been read; it
// must not block. It answers through the Responder it is given, either at once or later from any
// thread (e.g. the scheduler thread of a model):
//
//   server.SetHandler([](HttpRequest req, std::shared_ptr<Responder> r) {
//     r->Send(HttpResponse::Json(200, R"({"ok":true})"));
//   });
//
// Streaming: StartStream() writes the status line and headers with chunked transfer encoding,
// Write() appends one chunk, End() terminates the body. Write() returns false once the client has
// gone (read side closed, write failed or too much unsent data buffered); Responder::Gone() and
// the OnGone() callback tell producers to stop.
//
// Thread safety: Responder methods may be called from any thread. Start/Stop from one thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "deepvault/status.h"

namespace dv::server {

struct HttpLimits {
  size_t max_header_bytes = 64 * 1024;          // request line + headers
  size_t max_body_bytes = 8 * 1024 * 1024;      // request body
  std::chrono::milliseconds request_timeout{30'000};  // reading one whole request
  std::chrono::milliseconds idle_timeout{60'000};     // keep-alive wait for the next request
  std::chrono::milliseconds write_timeout{60'000};    // one write to a client that does not read
  size_t max_buffered_stream_bytes = 4 * 1024 * 1024;  // unsent streamed bytes before we drop the client
  size_t max_connections = 4096;                // accepted sockets open at once; more are closed
};

struct TlsOptions {
  std::string certificate_file;  // PEM chain; empty = plain HTTP
  std::string private_key_file;  // PEM
};

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 11435;  // 0 = pick an ephemeral port (see HttpServer::port())
  int io_threads = 2;
  HttpLimits limits;
  TlsOptions tls;
};

struct HttpHeader {
  std::string name;  // as sent
  std::string value;
};

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query as sent, e.g. "/v1/models?x=1"
  std::string path;    // target without the query
  std::vector<HttpHeader> headers;
  std::string body;
  std::string remote;      // "ip:port"
  std::string request_id;  // the client's X-Request-Id if acceptable, else generated

  // Value of the first header named `name` (case-insensitive), or "".
  std::string_view Header(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<HttpHeader> headers;
  std::string body;

  static HttpResponse Json(int status, std::string body);
  static HttpResponse Text(int status, std::string body, std::string content_type = "text/plain; charset=utf-8");
};

// How one request ends, reported to the access-log hook.
struct AccessRecord {
  std::string request_id, method, path, remote;
  int status = 0;
  uint64_t bytes_out = 0;
  double duration_s = 0;
  bool client_gone = false;
};

class Responder {
 public:
  virtual ~Responder() = default;
  // A complete response. At most one of Send / StartStream per request.
  virtual void Send(HttpResponse response) = 0;
  // Status line and headers (body chunked). `response.body` is ignored.
  virtual void StartStream(HttpResponse response) = 0;
  // One chunk; false when the client is gone (the chunk is dropped). Empty chunks are skipped.
  virtual bool Write(std::string chunk) = 0;
  // Final chunk; the connection then serves the next request (keep-alive) or closes.
  virtual void End() = 0;
  // True once the client closed its side, a write failed, or the server is shutting down hard.
  virtual bool Gone() const = 0;
  // Runs `fn` once (on an io thread) when the client goes away before the response has ended;
  // at once if it is already gone.
  virtual void OnGone(std::function<void()> fn) = 0;
  virtual const std::string& request_id() const = 0;
};

using HttpHandler = std::function<void(HttpRequest request, std::shared_ptr<Responder> responder)>;
using AccessLogHook = std::function<void(const AccessRecord& record)>;

class HttpServer {
 public:
  explicit HttpServer(HttpServerOptions options);
  ~HttpServer();  // Stop(0)
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // REQUIRES: before Start().
  void SetHandler(HttpHandler handler);
  void SetAccessLog(AccessLogHook hook);

  // Binds, listens and starts the io threads. Unavailable("address 127.0.0.1:11435 in use") and
  // InvalidArgument for a bad host or unreadable TLS files.
  Status Start();
  // The bound port (after Start).
  uint16_t port() const { return bound_port_; }
  // Stops accepting, waits up to `grace` for in-flight requests to end, then closes every
  // connection (producers see Gone()) and joins the io threads. Idempotent.
  void Stop(std::chrono::milliseconds grace = std::chrono::milliseconds(0));
  // Requests currently being handled (read completely, response not yet ended).
  int64_t in_flight() const;
  int64_t open_connections() const;

  struct Impl;

 private:
  HttpServerOptions options_;
  std::shared_ptr<Impl> impl_;
  uint16_t bound_port_ = 0;
};

}  // namespace dv::server
