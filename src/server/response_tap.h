// A Responder that forwards everything to another one and, when the response has ended, reports
// what was sent: the status, and (up to a byte limit) the body or the stream's chunks. The server
// uses it to learn a generation's outcome for the circuit breaker and to fill the response cache,
// without the route handlers knowing about either.
//
// `extra_headers` are added to the response (e.g. the served model version).
//
// Thread safety: as Responder; the finish callback runs once, on the thread that ends the
// response (Send or End), just before the response's last bytes are handed to the client, or
// never when the response is dropped without ending.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "server/http_server.h"
#include "server/response_cache.h"

namespace dv::server {

struct TappedResponse {
  CachedResponse response;  // status, headers (without extra_headers), body or chunks
  bool recorded = false;    // body/chunks complete (within the record limit)
  std::string last_chunk;   // stream: the last non-empty chunk, always kept
  bool client_gone = false; // the client left before the end
};

class ResponseTap : public Responder {
 public:
  using FinishFn = std::function<void(const TappedResponse&)>;
  // `record_limit`: bytes of body/chunks kept for the callback (0: keep none).
  ResponseTap(std::shared_ptr<Responder> inner, std::vector<HttpHeader> extra_headers, uint64_t record_limit,
              FinishFn on_finish);

  void Send(HttpResponse response) override;
  void StartStream(HttpResponse response) override;
  bool Write(std::string chunk) override;
  void End() override;
  bool Gone() const override { return inner_->Gone(); }
  void OnGone(std::function<void()> fn) override { inner_->OnGone(std::move(fn)); }
  const std::string& request_id() const override { return inner_->request_id(); }

 private:
  void Finish();

  std::shared_ptr<Responder> inner_;
  std::vector<HttpHeader> extra_headers_;
  const uint64_t record_limit_;
  FinishFn on_finish_;

  std::mutex mu_;
  TappedResponse tapped_;
  uint64_t recorded_bytes_ = 0;
  bool finished_ = false;
};

}  // namespace dv::server
