#include "http_client.h"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>

namespace dv::server::testing {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

ClientResponse Call(uint16_t port, const std::string& method, const std::string& target, const std::string& body,
                    const std::vector<std::pair<std::string, std::string>>& headers,
                    std::chrono::milliseconds timeout) {
  ClientResponse out;
  try {
    net::io_context ioc;
    beast::tcp_stream stream(ioc);
    stream.expires_after(timeout);
    stream.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, "127.0.0.1");
    bool has_type = false;
    for (const auto& [k, v] : headers) {
      req.set(k, v);
      has_type |= beast::iequals(k, "content-type");
    }
    if (!has_type && !body.empty()) req.set(http::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(1ull << 30);
    http::read(stream, buffer, parser);
    auto res = parser.release();
    out.status = static_cast<int>(res.result_int());
    for (const auto& f : res) {
      std::string name(f.name_string());
      std::transform(name.begin(), name.end(), name.begin(), ::tolower);
      out.headers[name] = std::string(f.value());
    }
    out.body = std::move(res.body());
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  } catch (const std::exception& e) {
    out.error = e.what();
  }
  return out;
}

std::string RawExchange(uint16_t port, const std::string& bytes, std::chrono::milliseconds timeout) {
  std::string out;
  try {
    net::io_context ioc;
    beast::tcp_stream stream(ioc);
    stream.expires_after(timeout);
    stream.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    beast::error_code ec;
    net::write(stream, net::buffer(bytes), ec);
    char buf[4096];
    while (true) {
      stream.expires_after(timeout);
      const size_t n = stream.read_some(net::buffer(buf), ec);
      out.append(buf, n);
      if (ec) break;
    }
  } catch (const std::exception&) {
  }
  return out;
}

std::string StartAndAbandon(uint16_t port, const std::string& target, const std::string& body, size_t min_bytes) {
  std::string out;
  net::io_context ioc;
  tcp::socket sock(ioc);
  sock.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  const std::string req = "POST " + target + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
                          std::to_string(body.size()) + "\r\n\r\n" + body;
  net::write(sock, net::buffer(req));
  char buf[4096];
  beast::error_code ec;
  while (out.size() < min_bytes) {
    const size_t n = sock.read_some(net::buffer(buf), ec);
    out.append(buf, n);
    if (ec) break;
  }
  sock.close(ec);
  return out;
}

std::vector<std::string> SseData(const std::string& body) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t end = body.find("\n\n", pos);
    if (end == std::string::npos) end = body.size();
    const std::string event = body.substr(pos, end - pos);
    if (event.rfind("data: ", 0) == 0) out.push_back(event.substr(6));
    pos = end + 2;
  }
  return out;
}

std::unique_ptr<Server> StartServer(const std::vector<std::pair<std::string, std::string>>& models,
                                    ServerOptions options) {
  options.http.host = "127.0.0.1";
  options.http.port = 0;
  options.access_log = "off";
  options.registry.models_dir.clear();
  if (options.registry.load.n_threads == 0) options.registry.load.n_threads = 1;
  options.shutdown_grace = std::chrono::milliseconds(200);
  for (const auto& [name, path] : models) options.models.emplace_back(name, path);
  auto server = std::make_unique<Server>(std::move(options));
  Status s = server->Start();
  EXPECT_TRUE(s.ok()) << s.Describe();
  if (!s.ok()) return nullptr;
  return server;
}

}  // namespace dv::server::testing
