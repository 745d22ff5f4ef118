// Load generator for `deepvault serve`: streaming /v1/completions requests with Poisson arrivals
// at a fixed concurrency; reports p50/p99 time-to-first-token, time-per-output-token, and
// aggregate generation throughput.
//
//   serve_load --port 11435 --model NAME --concurrency 8 --requests 64 --rate 0 --max-tokens 128
//
// --rate R: mean arrivals per second (Poisson); 0 = closed loop (each worker sends its next request
// as soon as the previous one ends). Each request asks for exactly --max-tokens tokens
// (ignore_eos is not needed: the count comes from the usage chunk).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  int port = 11435;
  std::string model;
  int concurrency = 1;
  int requests = 16;
  double rate = 0;
  int max_tokens = 128;
  std::string prompt = "Once upon a time";
};

struct Sample {
  double ttft_s = 0, tpot_s = 0, total_s = 0;
  int tokens = 0;
  bool ok = false;
};

// One streaming request over a fresh connection; timing from the raw bytes as they arrive.
Sample RunOne(const Options& o, int index) {
  Sample s;
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return s;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(o.port));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return s;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  // Distinct prompts so the prefix cache does not make later requests cheaper than the first.
  const std::string body = "{\"model\":\"" + o.model + "\",\"prompt\":\"" + o.prompt + " " + std::to_string(index) +
                           "\",\"max_tokens\":" + std::to_string(o.max_tokens) +
                           ",\"temperature\":0,\"stream\":true,\"stream_options\":{\"include_usage\":true}}";
  const std::string req = "POST /v1/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: "
                          "application/json\r\nContent-Length: " +
                          std::to_string(body.size()) + "\r\n\r\n" + body;
  const auto t0 = Clock::now();
  if (write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size())) {
    close(fd);
    return s;
  }
  std::string raw;
  char buf[16384];
  Clock::time_point first{};
  while (true) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    raw.append(buf, static_cast<size_t>(n));
    if (first == Clock::time_point{} && raw.find("\"text\":\"") != std::string::npos) {
      const size_t p = raw.find("\"text\":\"") + 8;
      if (p < raw.size() && raw[p] != '"') first = Clock::now();
    }
  }
  const auto t1 = Clock::now();
  close(fd);
  const size_t u = raw.rfind("\"completion_tokens\":");
  if (u == std::string::npos || raw.compare(0, 12, "HTTP/1.1 200") != 0) return s;
  s.tokens = std::atoi(raw.c_str() + u + 20);
  s.total_s = std::chrono::duration<double>(t1 - t0).count();
  s.ttft_s = std::chrono::duration<double>((first == Clock::time_point{} ? t1 : first) - t0).count();
  s.tpot_s = s.tokens > 1 ? (s.total_s - s.ttft_s) / (s.tokens - 1) : 0;
  s.ok = true;
  return s;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5));
  return v[i];
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--port") o.port = std::atoi(v.c_str());
    else if (k == "--model") o.model = v;
    else if (k == "--concurrency") o.concurrency = std::max(1, std::atoi(v.c_str()));
    else if (k == "--requests") o.requests = std::max(1, std::atoi(v.c_str()));
    else if (k == "--rate") o.rate = std::atof(v.c_str());
    else if (k == "--max-tokens") o.max_tokens = std::max(1, std::atoi(v.c_str()));
    else if (k == "--prompt") o.prompt = v;
    else {
      std::fprintf(stderr, "serve_load: unknown option %s\n", k.c_str());
      return 2;
    }
  }
  if (o.model.empty()) {
    std::fprintf(stderr, "usage: serve_load --model NAME [--port P] [--concurrency C] [--requests N] [--rate R] "
                         "[--max-tokens T] [--prompt TEXT]\n");
    return 2;
  }
  // Arrival times (Poisson process) shared by the workers; closed loop when rate is 0.
  std::vector<double> arrivals(static_cast<size_t>(o.requests), 0.0);
  if (o.rate > 0) {
    std::mt19937_64 rng(1);
    std::exponential_distribution<double> gap(o.rate);
    double t = 0;
    for (auto& a : arrivals) a = t += gap(rng);
  }
  std::atomic<int> next{0};
  std::mutex mu;
  std::vector<Sample> samples;
  const auto start = Clock::now();
  std::vector<std::thread> workers;
  for (int w = 0; w < o.concurrency; ++w) {
    workers.emplace_back([&] {
      while (true) {
        const int i = next++;
        if (i >= o.requests) return;
        std::this_thread::sleep_until(start + std::chrono::duration_cast<Clock::duration>(
                                                  std::chrono::duration<double>(arrivals[static_cast<size_t>(i)])));
        Sample s = RunOne(o, i);
        std::lock_guard lock(mu);
        samples.push_back(s);
      }
    });
  }
  for (auto& t : workers) t.join();
  const double wall = std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<double> ttft, tpot;
  long tokens = 0;
  int failed = 0;
  for (const auto& s : samples) {
    if (!s.ok) {
      ++failed;
      continue;
    }
    ttft.push_back(s.ttft_s);
    tpot.push_back(s.tpot_s);
    tokens += s.tokens;
  }
  std::printf("concurrency %d, requests %d (%d failed), rate %s, max_tokens %d, wall %.2f s\n", o.concurrency,
              o.requests, failed, o.rate > 0 ? std::to_string(o.rate).c_str() : "closed-loop", o.max_tokens, wall);
  std::printf("ttft   p50 %8.1f ms   p99 %8.1f ms\n", Percentile(ttft, 0.5) * 1e3, Percentile(ttft, 0.99) * 1e3);
  std::printf("tpot   p50 %8.2f ms   p99 %8.2f ms\n", Percentile(tpot, 0.5) * 1e3, Percentile(tpot, 0.99) * 1e3);
  std::printf("throughput %.1f generated tokens/s\n", static_cast<double>(tokens) / wall);
  return failed ? 1 : 0;
}
