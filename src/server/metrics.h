// Server metrics in the Prometheus text exposition format (version 0.0.4).
//
// Counters and histograms are created on first use by (name, labels) and live as long as the
// Metrics object. Gauges are read at scrape time from callbacks (queue depth, active sequences,
// KV use: values owned by other components).
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace dv::server {

using Labels = std::vector<std::pair<std::string, std::string>>;  // in the order printed

class Metrics {
 public:
  Metrics();

  // Declares a family's HELP text and type; families used without a declaration get none.
  void Describe(const std::string& name, const std::string& type, const std::string& help);

  void Add(const std::string& name, const Labels& labels, double delta = 1.0);   // counter
  void Observe(const std::string& name, const Labels& labels, double value);    // histogram
  // A gauge sampled at scrape time. Each call adds one series.
  void Gauge(const std::string& name, const Labels& labels, std::function<double()> read);
  // Removes gauges registered with `owner_tag` (e.g. when a model is unloaded).
  void Gauge(const std::string& name, const Labels& labels, std::function<double()> read, const std::string& owner_tag);
  void RemoveGauges(const std::string& owner_tag);

  // The exposition text.
  std::string Render() const;

  // Current value of a counter series (0 when absent); for tests and health output.
  double CounterValue(const std::string& name, const Labels& labels) const;

 private:
  struct Histogram {
    std::vector<double> bounds;
    std::vector<uint64_t> buckets;  // cumulative counts are computed when rendering
    uint64_t count = 0;
    double sum = 0;
  };
  struct GaugeSeries {
    std::string name;
    Labels labels;
    std::function<double()> read;
    std::string owner;
  };
  static std::string Key(const std::string& name, const Labels& labels);

  mutable std::mutex mu_;
  std::map<std::string, std::pair<std::string, std::string>> meta_;  // name → (type, help)
  std::map<std::string, std::map<std::string, double>> counters_;     // name → label text → value
  std::map<std::string, std::map<std::string, Histogram>> histograms_;
  std::vector<GaugeSeries> gauges_;
  std::map<std::string, std::vector<double>> bounds_;  // histogram name → bucket bounds
};

// "{a=\"x\",b=\"y\"}" with Prometheus escaping; "" for no labels.
std::string FormatLabels(const Labels& labels);

}  // namespace dv::server
