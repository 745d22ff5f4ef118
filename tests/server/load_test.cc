// More than 1,000 streaming connections open at once against one server (the issue's
// requirement), all answered 200 with a stream; then every client hangs up at once and the server
// frees the queued and running sequences and keeps serving.
//
// The streams are long (up to 200 tokens each) and only 2 sequences run at a time, so the rest
// wait in the queue with their stream already open: that is what holds them open together.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <thread>

#include "http_client.h"
#include "test_util.h"

namespace dv::server::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct Stream {
  explicit Stream(asio::io_context& io) : socket(io) {}
  tcp::socket socket;
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  std::string request;
};

TEST(ServerLoad, OverAThousandConcurrentStreamingConnections) {
  constexpr int kStreams = 1200;
  constexpr int kRequired = 1000;
  ServerOptions o;
  o.registry.load.n_ctx = 256;
  o.registry.load.n_slots = 2;
  o.registry.scheduler.max_queue = 4000;
  o.registry.scheduler.max_batch_tokens = 64;
  o.http.limits.max_connections = 4096;
  auto server = StartServer({{"stories", dv::testing::FixturePath("models/stories260K.gguf").string()}}, o);
  ASSERT_NE(server, nullptr);
  const uint16_t port = server->port();

  asio::io_context io;
  std::vector<std::unique_ptr<Stream>> streams;
  std::atomic<int> connected{0}, headers_ok{0}, headers_bad{0}, open_now{0}, peak{0}, completed{0}, failed{0};
  const std::string body = R"({"model":"stories","prompt":"","max_tokens":200,"temperature":0,"stream":true})";
  const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), port);
  for (int i = 0; i < kStreams; ++i) {
    auto s = std::make_unique<Stream>(io);
    s->parser.body_limit(16 * 1024 * 1024);
    s->request = "POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                 "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    Stream* sp = s.get();
    sp->socket.async_connect(endpoint, [&, sp](beast::error_code ec) {
      if (ec) {
        ++failed;
        return;
      }
      ++connected;
      asio::async_write(sp->socket, asio::buffer(sp->request), [&, sp](beast::error_code ec, size_t) {
        if (ec) {
          ++failed;
          return;
        }
        http::async_read_header(sp->socket, sp->buffer, sp->parser, [&, sp](beast::error_code ec, size_t) {
          if (ec || sp->parser.get().result_int() != 200) {
            ++headers_bad;
            return;
          }
          ++headers_ok;
          const int now = ++open_now;
          int p = peak.load();
          while (now > p && !peak.compare_exchange_weak(p, now)) {}
          http::async_read(sp->socket, sp->buffer, sp->parser, [&, sp](beast::error_code ec, size_t) {
            --open_now;
            if (!ec && sp->parser.is_done()) ++completed;
          });
        });
      });
    });
    streams.push_back(std::move(s));
  }
  std::thread client([&io] { io.run(); });

  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (headers_ok + headers_bad + failed < kStreams && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(headers_bad.load(), 0);
  EXPECT_EQ(headers_ok.load(), kStreams);
  EXPECT_GE(peak.load(), kRequired) << "streams open at the same time";

  // Every client hangs up at once; the server cancels their sequences and keeps serving.
  asio::post(io, [&] {
    for (auto& s : streams) {
      beast::error_code ignored;
      s->socket.shutdown(tcp::socket::shutdown_both, ignored);
      s->socket.close(ignored);
    }
  });
  client.join();
  std::shared_ptr<Scheduler> sched;
  for (const auto& m : server->registry().List()) sched = m.scheduler;
  ASSERT_NE(sched, nullptr);
  const auto drained_by = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while ((sched->stats().queued > 0 || sched->stats().active > 0) && std::chrono::steady_clock::now() < drained_by) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(sched->stats().queued, 0);
  EXPECT_EQ(sched->stats().active, 0);
  ClientResponse r = Call(port, "POST", "/v1/completions",
                          R"({"model":"stories","prompt":"","max_tokens":8,"temperature":0})");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(nlohmann::json::parse(r.body)["choices"][0]["text"].get<std::string>().substr(0, 4), "Once");
}

}  // namespace
}  // namespace dv::server::testing
