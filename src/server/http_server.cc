#include "server/http_server.h"

#include <openssl/ssl.h>
#include <sys/socket.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <deque>
#include <mutex>
#include <optional>
#include <random>
#include <variant>

#include <spdlog/spdlog.h>

#include "common/logging.h"

namespace dv::server {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

std::string_view HttpRequest::Header(std::string_view name) const {
  for (const auto& h : headers) {
    if (h.name.size() == name.size() &&
        std::equal(h.name.begin(), h.name.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
        })) {
      return h.value;
    }
  }
  return {};
}

HttpResponse HttpResponse::Json(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

HttpResponse HttpResponse::Text(int status, std::string body, std::string content_type) {
  HttpResponse r;
  r.status = status;
  r.content_type = std::move(content_type);
  r.body = std::move(body);
  return r;
}

namespace {

// A client-supplied X-Request-Id is kept when it is 1..128 characters of [A-Za-z0-9._:-];
// otherwise (absent or unsafe to log) a random 128-bit hex id is generated.
std::string ChooseRequestId(std::string_view client_id) {
  const bool ok = !client_id.empty() && client_id.size() <= 128 &&
                  std::all_of(client_id.begin(), client_id.end(), [](char c) {
                    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
                           c == ':';
                  });
  if (ok) return std::string(client_id);
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(32, '0');
  for (int half = 0; half < 2; ++half) {
    uint64_t v = rng();
    for (int i = 0; i < 16; ++i, v >>= 4) id[half * 16 + i] = kHex[v & 0xF];
  }
  return id;
}

void SetHeaders(http::response_header<>& h, const HttpResponse& r, const std::string& request_id) {
  h.result(static_cast<unsigned>(r.status));
  h.set(http::field::server, "deepvault");
  h.set(http::field::content_type, r.content_type);
  h.set("X-Request-Id", request_id);
  for (const auto& extra : r.headers) h.set(extra.name, extra.value);
}

std::string ErrorJson(std::string_view message, std::string_view type, std::string_view code) {
  // The message is ours (ASCII, no quotes or backslashes), so plain concatenation is safe.
  return std::string(R"({"error":{"message":")") + std::string(message) + R"(","type":")" + std::string(type) +
         R"(","param":null,"code":")" + std::string(code) + "\"}}";
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Shared server state.

struct HttpServer::Impl {
  explicit Impl(const HttpServerOptions& o) : options(o), ioc(std::max(1, o.io_threads)) {}

  HttpServerOptions options;
  net::io_context ioc;
  std::optional<net::ssl::context> ssl;
  std::optional<tcp::acceptor> acceptor;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::vector<std::thread> threads;
  HttpHandler handler;
  AccessLogHook access_log;

  std::atomic<int64_t> in_flight{0};
  std::atomic<int64_t> connections{0};
  std::atomic<bool> accepting{true};
  std::atomic<bool> running{false};  // io threads alive: responders may post

  struct SessionBase {
    virtual ~SessionBase() = default;
    virtual void ForceClose() = 0;
  };
  std::mutex sessions_mu;
  std::vector<std::weak_ptr<SessionBase>> sessions;

  void Register(const std::shared_ptr<SessionBase>& s) {
    std::lock_guard lock(sessions_mu);
    if (sessions.size() > 64 && sessions.size() % 64 == 0) {
      std::erase_if(sessions, [](const auto& w) { return w.expired(); });
    }
    sessions.push_back(s);
  }
  void DoAccept();
  std::weak_ptr<Impl> self_weak;
  std::shared_ptr<Impl> shared_from_this_impl() { return self_weak.lock(); }
};

namespace {

using ImplPtr = std::shared_ptr<HttpServer::Impl>;

// One connection. `Stream` is beast::tcp_stream or beast::ssl_stream<beast::tcp_stream>. Every
// member is touched only on the connection's strand.
template <typename Stream>
class Session : public HttpServer::Impl::SessionBase, public std::enable_shared_from_this<Session<Stream>> {
 public:
  template <typename... Args>
  Session(ImplPtr impl, tcp::socket socket, Args&&... args)
      : impl_(std::move(impl)), stream_(std::move(socket), std::forward<Args>(args)...) {
    beast::error_code ec;
    auto ep = beast::get_lowest_layer(stream_).socket().remote_endpoint(ec);
    if (!ec) remote_ = ep.address().to_string() + ":" + std::to_string(ep.port());
    impl_->connections.fetch_add(1);
  }
  ~Session() override {
    impl_->connections.fetch_sub(1);
    if (handling_) impl_->in_flight.fetch_sub(1);
  }

  void Run() {
    net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] { self->Begin(); });
  }

  void ForceClose() override {
    net::post(stream_.get_executor(), [self = this->shared_from_this()] { self->Close(/*client_gone=*/true); });
  }

  // ---- called through ResponderImpl, on the strand -------------------------------------------
  void DoSend(uint64_t gen, HttpResponse r) {
    if (gen != generation_ || state_ != State::kHandling) return;
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(11);
    SetHeaders(res->base(), r, request_id_);
    res->keep_alive(keep_alive_ && impl_->accepting.load());
    res->body() = std::move(r.body);
    res->prepare_payload();
    status_ = r.status;
    state_ = State::kStreaming;  // writes pending; ends with the response
    queue_.push_back(Item{std::move(res)});
    ended_ = true;
    Pump();
  }
  void DoStartStream(uint64_t gen, HttpResponse r) {
    if (gen != generation_ || state_ != State::kHandling) return;
    auto res = std::make_shared<http::response<http::empty_body>>();
    res->version(11);
    SetHeaders(res->base(), r, request_id_);
    res->set(http::field::cache_control, "no-cache");
    res->keep_alive(keep_alive_ && impl_->accepting.load());
    res->chunked(true);
    status_ = r.status;
    state_ = State::kStreaming;
    queue_.push_back(Item{std::move(res)});
    Pump();
  }
  void DoWrite(uint64_t gen, std::string chunk) {
    if (gen != generation_ || state_ != State::kStreaming || ended_) return;
    queued_bytes_ += chunk.size();
    if (queued_bytes_ > impl_->options.limits.max_buffered_stream_bytes) {
      spdlog::warn("client {} does not read its stream ({} bytes unsent); closing", remote_, queued_bytes_);
      Close(/*client_gone=*/true);
      return;
    }
    queue_.push_back(Item{std::move(chunk)});
    Pump();
  }
  void DoEnd(uint64_t gen) {
    if (gen != generation_ || state_ != State::kStreaming || ended_) return;
    ended_ = true;
    queue_.push_back(Item{LastChunk{}});
    Pump();
  }
  void DoOnGone(uint64_t gen, std::function<void()> fn) {
    if (gen != generation_) return;
    if (gone_) {
      fn();
    } else {
      on_gone_.push_back(std::move(fn));
    }
  }

  std::atomic<bool> gone_flag{false};  // readable from any thread
  uint64_t generation() const { return generation_; }
  const ImplPtr& impl() const { return impl_; }
  auto executor() { return stream_.get_executor(); }

 private:
  struct LastChunk {};
  using Item = std::variant<std::shared_ptr<http::response<http::string_body>>,
                            std::shared_ptr<http::response<http::empty_body>>, std::string, LastChunk>;
  enum class State { kReading, kHandling, kStreaming, kClosed };

  void Begin() {
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      DoRead();
    } else {
      beast::get_lowest_layer(stream_).expires_after(impl_->options.limits.request_timeout);
      stream_.async_handshake(net::ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (ec) return self->Close(false);
                                self->DoRead();
                              });
    }
  }

  void DoRead() {
    if (!impl_->accepting.load()) return Close(false);
    state_ = State::kReading;
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(std::min<size_t>(impl_->options.limits.max_header_bytes, UINT32_MAX)));
    parser_->body_limit(impl_->options.limits.max_body_bytes);
    beast::get_lowest_layer(stream_).expires_after(impl_->options.limits.idle_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = this->shared_from_this()](beast::error_code ec, size_t) {
                              self->OnHeader(ec);
                            });
  }

  void OnHeader(beast::error_code ec) {
    if (ec) return OnReadError(ec);
    read_start_ = Clock::now();
    beast::get_lowest_layer(stream_).expires_after(impl_->options.limits.request_timeout);
    http::async_read(stream_, buffer_, *parser_, [self = this->shared_from_this()](beast::error_code ec2, size_t) {
      if (ec2) return self->OnReadError(ec2);
      self->OnRequest();
    });
  }

  void OnReadError(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == net::error::eof || ec == net::error::connection_reset ||
        ec == net::error::operation_aborted) {
      return Close(false);
    }
    if (ec == beast::error::timeout) {
      // Only answer 408 when a request had started; an idle keep-alive connection just closes.
      if (parser_ && parser_->got_some()) return RejectAndClose(408, "reading the request took too long", "timeout");
      return Close(false);
    }
    if (ec == http::error::header_limit) {
      return RejectAndClose(431,
                            "request headers exceed " + std::to_string(impl_->options.limits.max_header_bytes) +
                                " bytes",
                            "header_too_large");
    }
    if (ec == http::error::body_limit) {
      return RejectAndClose(413,
                            "request body exceeds " + std::to_string(impl_->options.limits.max_body_bytes) + " bytes",
                            "body_too_large");
    }
    return RejectAndClose(400, "malformed HTTP request: " + ec.message(), "bad_request");
  }

  // Answers an unreadable request directly and closes the connection (its framing is lost).
  void RejectAndClose(int status, const std::string& message, std::string_view code) {
    ++generation_;
    request_id_ = ChooseRequestId("");
    method_ = "-";
    path_ = "-";
    handling_ = true;
    impl_->in_flight.fetch_add(1);
    start_ = Clock::now();
    keep_alive_ = false;
    state_ = State::kHandling;
    HttpResponse r = HttpResponse::Json(status, ErrorJson(message, "invalid_request_error", code));
    DoSend(generation_, std::move(r));
  }

  void OnRequest();  // defined below: needs ResponderImpl

  void Pump() {
    if (writing_ || queue_.empty() || state_ == State::kClosed) return;
    writing_ = true;
    beast::get_lowest_layer(stream_).expires_after(impl_->options.limits.write_timeout);
    auto self = this->shared_from_this();
    auto done = [self](beast::error_code ec, size_t n) { self->OnWritten(ec, n); };
    Item& item = queue_.front();
    if (auto* full = std::get_if<0>(&item)) {
      http::async_write(stream_, **full, std::move(done));
    } else if (auto* head = std::get_if<1>(&item)) {
      header_serializer_.emplace(**head);
      http::async_write_header(stream_, *header_serializer_, std::move(done));
    } else if (auto* chunk = std::get_if<2>(&item)) {
      net::async_write(stream_, http::make_chunk(net::buffer(*chunk)), std::move(done));
    } else {
      net::async_write(stream_, http::make_chunk_last(), std::move(done));
    }
  }

  void OnWritten(beast::error_code ec, size_t n) {
    writing_ = false;
    if (ec || state_ == State::kClosed) {
      Close(/*client_gone=*/true);
      queue_.clear();  // only now: the finished write referenced the front item
      return;
    }
    bytes_out_ += n;
    Item item = std::move(queue_.front());
    queue_.pop_front();
    if (auto* chunk = std::get_if<2>(&item)) queued_bytes_ -= chunk->size();
    const bool finished = std::holds_alternative<LastChunk>(item) || item.index() == 0;
    if (finished) return FinishRequest();
    Pump();
  }

  void FinishRequest() {
    LogAccess(false);
    header_serializer_.reset();
    handling_ = false;
    impl_->in_flight.fetch_sub(1);
    on_gone_.clear();
    ++generation_;
    StopWatching();
    if (!keep_alive_ || !impl_->accepting.load()) {
      beast::error_code ignored;
      beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_send, ignored);
      return Linger(std::chrono::steady_clock::now() + std::chrono::seconds(2));
    }
    DoRead();
  }

  // Lingering close: read and discard what the client is still sending (e.g. the rest of an
  // oversized request) until it closes or `until`, so that it reads our answer instead of a reset.
  void Linger(Clock::time_point until) {
    if (state_ == State::kClosed || Clock::now() >= until) return Close(false);
    beast::get_lowest_layer(stream_).expires_at(until);
    beast::get_lowest_layer(stream_).async_read_some(
        net::buffer(linger_buf_), [self = this->shared_from_this(), until](beast::error_code ec, size_t) {
          if (ec) return self->Close(false);
          self->Linger(until);
        });
  }

  // While a request is handled, wait for the client's side to become readable: EOF means it left.
  void Watch() {
    watching_ = true;
    auto& sock = beast::get_lowest_layer(stream_).socket();
    sock.async_wait(tcp::socket::wait_read, [self = this->shared_from_this(), gen = generation_](beast::error_code ec) {
      if (gen == self->generation_) self->watching_ = false;
      if (ec || gen != self->generation_ || self->state_ == State::kClosed) return;
      char byte;
      const ssize_t n = ::recv(beast::get_lowest_layer(self->stream_).socket().native_handle(), &byte, 1,
                               MSG_PEEK | MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
        self->Close(/*client_gone=*/true);
      } else if (n < 0) {
        self->Watch();
      }
      // n > 0: the client pipelined its next request; it is still there.
    });
  }
  void StopWatching() {
    if (!watching_) return;
    beast::error_code ignored;
    beast::get_lowest_layer(stream_).socket().cancel(ignored);
  }

  void LogAccess(bool client_gone) {
    if (!impl_->access_log || !handling_) return;
    AccessRecord rec;
    rec.request_id = request_id_;
    rec.method = method_;
    rec.path = path_;
    rec.remote = remote_;
    rec.status = client_gone && status_ == 0 ? 499 : status_;
    rec.bytes_out = bytes_out_;
    rec.duration_s = std::chrono::duration<double>(Clock::now() - start_).count();
    rec.client_gone = client_gone;
    impl_->access_log(rec);
  }

  void Close(bool client_gone) {
    if (state_ == State::kClosed) return;
    if (handling_) LogAccess(client_gone);
    state_ = State::kClosed;
    gone_ = true;
    gone_flag.store(true);
    auto callbacks = std::move(on_gone_);
    on_gone_.clear();
    for (auto& fn : callbacks) fn();
    beast::error_code ignored;
    beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(stream_).close();
    if (!writing_) queue_.clear();  // a pending write still references the front item
  }

  friend class ResponderImpl;
  template <typename S>
  friend class ResponderFor;

  ImplPtr impl_;
  Stream stream_;
  beast::flat_buffer buffer_;
  std::array<char, 16384> linger_buf_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response_serializer<http::empty_body>> header_serializer_;
  std::deque<Item> queue_;
  std::vector<std::function<void()>> on_gone_;
  std::string remote_, request_id_, method_, path_;
  State state_ = State::kReading;
  uint64_t generation_ = 0;
  size_t queued_bytes_ = 0;
  uint64_t bytes_out_ = 0;
  int status_ = 0;
  bool keep_alive_ = true, writing_ = false, ended_ = false, gone_ = false, watching_ = false,
       handling_ = false;
  Clock::time_point start_, read_start_;
};

// The handler's view of one request on a Session. Methods post onto the session's strand.
template <typename Stream>
class ResponderFor final : public Responder {
 public:
  ResponderFor(std::shared_ptr<Session<Stream>> s, uint64_t gen, std::string id)
      : s_(std::move(s)), gen_(gen), id_(std::move(id)) {}

  void Send(HttpResponse response) override {
    Post([s = s_, g = gen_, r = std::move(response)]() mutable { s->DoSend(g, std::move(r)); });
  }
  void StartStream(HttpResponse response) override {
    Post([s = s_, g = gen_, r = std::move(response)]() mutable { s->DoStartStream(g, std::move(r)); });
  }
  bool Write(std::string chunk) override {
    if (Gone()) return false;
    if (chunk.empty()) return true;
    Post([s = s_, g = gen_, c = std::move(chunk)]() mutable { s->DoWrite(g, std::move(c)); });
    return true;
  }
  void End() override {
    Post([s = s_, g = gen_] { s->DoEnd(g); });
  }
  bool Gone() const override { return s_->gone_flag.load() || !s_->impl()->running.load(); }
  void OnGone(std::function<void()> fn) override {
    if (!s_->impl()->running.load()) return fn();
    Post([s = s_, g = gen_, f = std::move(fn)]() mutable { s->DoOnGone(g, std::move(f)); });
  }
  const std::string& request_id() const override { return id_; }

 private:
  template <typename F>
  void Post(F&& f) {
    if (!s_->impl()->running.load()) return;
    net::post(s_->executor(), std::forward<F>(f));
  }
  std::shared_ptr<Session<Stream>> s_;
  uint64_t gen_;
  std::string id_;
};

template <typename Stream>
void Session<Stream>::OnRequest() {
  beast::get_lowest_layer(stream_).expires_never();
  http::request<http::string_body> msg = parser_->release();
  parser_.reset();
  ++generation_;
  HttpRequest req;
  req.method = std::string(msg.method_string());
  req.target = std::string(msg.target());
  req.path = req.target.substr(0, req.target.find('?'));
  for (const auto& field : msg) {
    req.headers.push_back({std::string(field.name_string()), std::string(field.value())});
  }
  req.body = std::move(msg.body());
  req.remote = remote_;
  req.request_id = ChooseRequestId(req.Header("X-Request-Id"));
  keep_alive_ = msg.keep_alive();
  request_id_ = req.request_id;
  method_ = req.method;
  path_ = req.path;
  status_ = 0;
  bytes_out_ = 0;
  queued_bytes_ = 0;
  ended_ = false;
  start_ = read_start_;
  handling_ = true;
  impl_->in_flight.fetch_add(1);
  state_ = State::kHandling;
  Watch();
  auto responder = std::make_shared<ResponderFor<Stream>>(this->shared_from_this(), generation_, request_id_);
  try {
    logging::ScopedRequestId scoped(request_id_);
    impl_->handler(std::move(req), responder);
  } catch (const std::exception& e) {
    spdlog::error("handler threw: {}", e.what());
    responder->Send(HttpResponse::Json(500, ErrorJson("internal error", "server_error", "internal")));
  }
}

}  // namespace

void HttpServer::Impl::DoAccept() {
  acceptor->async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == net::error::operation_aborted || !accepting.load()) return;
      spdlog::warn("accept failed: {}", ec.message());
      return DoAccept();
    }
    if (static_cast<size_t>(connections.load()) >= options.limits.max_connections) {
      beast::error_code ignored;
      socket.close(ignored);
      return DoAccept();
    }
    auto self = shared_from_this_impl();
    if (ssl) {
      auto s = std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(self, std::move(socket), *ssl);
      Register(s);
      s->Run();
    } else {
      auto s = std::make_shared<Session<beast::tcp_stream>>(self, std::move(socket));
      Register(s);
      s->Run();
    }
    DoAccept();
  });
}

HttpServer::HttpServer(HttpServerOptions options) : options_(std::move(options)) {
  impl_ = std::make_shared<Impl>(options_);
  impl_->self_weak = impl_;
}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::SetHandler(HttpHandler handler) { impl_->handler = std::move(handler); }
void HttpServer::SetAccessLog(AccessLogHook hook) { impl_->access_log = std::move(hook); }

Status HttpServer::Start() {
  if (!impl_->handler) return FailedPrecondition("HttpServer::Start without a handler");
  beast::error_code ec;
  const auto address = net::ip::make_address(options_.host, ec);
  if (ec) return InvalidArgument("server.host \"" + options_.host + "\" is not an IP address");
  if (!options_.tls.certificate_file.empty() || !options_.tls.private_key_file.empty()) {
    if (options_.tls.certificate_file.empty() || options_.tls.private_key_file.empty()) {
      return InvalidArgument("TLS needs both server.tls_cert and server.tls_key");
    }
    impl_->ssl.emplace(net::ssl::context::tls_server);
    SSL_CTX_set_min_proto_version(impl_->ssl->native_handle(), TLS1_3_VERSION);
    impl_->ssl->use_certificate_chain_file(options_.tls.certificate_file, ec);
    if (ec) return InvalidArgument("cannot use TLS certificate " + options_.tls.certificate_file + ": " + ec.message());
    impl_->ssl->use_private_key_file(options_.tls.private_key_file, net::ssl::context::pem, ec);
    if (ec) return InvalidArgument("cannot use TLS key " + options_.tls.private_key_file + ": " + ec.message());
  }
  const tcp::endpoint endpoint(address, options_.port);
  const std::string where = options_.host + ":" + std::to_string(options_.port);
  auto& acc = impl_->acceptor.emplace(impl_->ioc);
  if (acc.open(endpoint.protocol(), ec); ec) return Unavailable("cannot open a socket: " + ec.message());
  if (acc.set_option(net::socket_base::reuse_address(true), ec); ec) {
    return Unavailable("cannot set SO_REUSEADDR: " + ec.message());
  }
  if (acc.bind(endpoint, ec); ec) {
    if (ec == net::error::address_in_use) return Unavailable("address " + where + " is already in use");
    return Unavailable("cannot bind " + where + ": " + ec.message());
  }
  if (acc.listen(net::socket_base::max_listen_connections, ec); ec) {
    return Unavailable("cannot listen on " + where + ": " + ec.message());
  }
  bound_port_ = acc.local_endpoint().port();
  impl_->running.store(true);
  impl_->work.emplace(impl_->ioc.get_executor());
  impl_->DoAccept();
  for (int i = 0; i < std::max(1, options_.io_threads); ++i) {
    impl_->threads.emplace_back([impl = impl_.get()] { impl->ioc.run(); });
  }
  return Status::Ok();
}

void HttpServer::Stop(std::chrono::milliseconds grace) {
  if (!impl_->running.load()) return;
  impl_->accepting.store(false);
  net::post(impl_->ioc, [impl = impl_.get()] {
    beast::error_code ignored;
    if (impl->acceptor) impl->acceptor->close(ignored);
  });
  const auto deadline = Clock::now() + grace;
  while (impl_->in_flight.load() > 0 && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  {
    std::lock_guard lock(impl_->sessions_mu);
    for (auto& w : impl_->sessions) {
      if (auto s = w.lock()) s->ForceClose();
    }
    impl_->sessions.clear();
  }
  impl_->work.reset();
  // Give closed sessions a moment to unwind, then stop the loop regardless.
  const auto hard = Clock::now() + std::chrono::milliseconds(500);
  while (impl_->connections.load() > 0 && Clock::now() < hard) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  impl_->running.store(false);
  impl_->ioc.stop();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
  // Destroy handlers still queued (they hold sessions), breaking session ↔ impl cycles.
  impl_->ioc.restart();
  impl_->ioc.poll();
  impl_->acceptor.reset();
}

int64_t HttpServer::in_flight() const { return impl_->in_flight.load(); }
int64_t HttpServer::open_connections() const { return impl_->connections.load(); }

}  // namespace dv::server
