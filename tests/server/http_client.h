// A small blocking HTTP/1.1 client for the server tests (Boost.Beast), plus helpers that start an
// in-process Server on an ephemeral loopback port with the test models.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "server/server.h"

namespace dv::server::testing {

struct ClientResponse {
  int status = 0;  // 0: no response (connection failed or closed early)
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;  // chunked bodies are de-chunked
  std::string error;
};

// One request on a fresh connection. `headers` are sent as given.
ClientResponse Call(uint16_t port, const std::string& method, const std::string& target, const std::string& body = "",
                    const std::vector<std::pair<std::string, std::string>>& headers = {},
                    std::chrono::milliseconds timeout = std::chrono::seconds(60));

// Sends raw bytes and returns whatever the server answers until it closes or `timeout` passes.
std::string RawExchange(uint16_t port, const std::string& bytes, std::chrono::milliseconds timeout);

// Opens a streaming request, reads until `min_bytes` of the response arrived, then closes the
// socket abruptly. Returns the bytes read.
std::string StartAndAbandon(uint16_t port, const std::string& target, const std::string& body, size_t min_bytes);

// The `data:` payloads of an SSE body, in order.
std::vector<std::string> SseData(const std::string& body);

// A server over the given models (name → path) on 127.0.0.1:<ephemeral>.
std::unique_ptr<Server> StartServer(const std::vector<std::pair<std::string, std::string>>& models,
                                    ServerOptions options = {});

}  // namespace dv::server::testing
