#include "server/metrics.h"

#include <cmath>
#include <cstdio>

namespace dv::server {
namespace {

std::string FormatValue(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

// Latency buckets in seconds: 5 ms .. 2 min.
const std::vector<double> kLatencyBounds = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120};

}  // namespace

std::string FormatLabels(const Labels& labels) {
  if (labels.empty()) return "";
  std::string out = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i) out += ',';
    out += labels[i].first;
    out += "=\"";
    for (char c : labels[i].second) {
      if (c == '\\') {
        out += "\\\\";
      } else if (c == '"') {
        out += "\\\"";
      } else if (c == '\n') {
        out += "\\n";
      } else {
        out += c;
      }
    }
    out += '"';
  }
  return out + "}";
}

Metrics::Metrics() = default;

std::string Metrics::Key(const std::string& name, const Labels& labels) { return name + FormatLabels(labels); }

void Metrics::Describe(const std::string& name, const std::string& type, const std::string& help) {
  std::lock_guard lock(mu_);
  meta_[name] = {type, help};
}

void Metrics::Add(const std::string& name, const Labels& labels, double delta) {
  std::lock_guard lock(mu_);
  counters_[name][FormatLabels(labels)] += delta;
}

void Metrics::Observe(const std::string& name, const Labels& labels, double value) {
  std::lock_guard lock(mu_);
  Histogram& h = histograms_[name][FormatLabels(labels)];
  if (h.bounds.empty()) {
    h.bounds = kLatencyBounds;
    h.buckets.assign(h.bounds.size(), 0);
  }
  for (size_t i = 0; i < h.bounds.size(); ++i) {
    if (value <= h.bounds[i]) {
      ++h.buckets[i];
      break;
    }
  }
  ++h.count;
  h.sum += value;
}

void Metrics::Gauge(const std::string& name, const Labels& labels, std::function<double()> read) {
  Gauge(name, labels, std::move(read), "");
}

void Metrics::Gauge(const std::string& name, const Labels& labels, std::function<double()> read,
                    const std::string& owner_tag) {
  std::lock_guard lock(mu_);
  gauges_.push_back({name, labels, std::move(read), owner_tag});
}

void Metrics::RemoveGauges(const std::string& owner_tag) {
  std::lock_guard lock(mu_);
  std::erase_if(gauges_, [&](const GaugeSeries& g) { return g.owner == owner_tag; });
}

double Metrics::CounterValue(const std::string& name, const Labels& labels) const {
  std::lock_guard lock(mu_);
  auto it = counters_.find(name);
  if (it == counters_.end()) return 0;
  auto jt = it->second.find(FormatLabels(labels));
  return jt == it->second.end() ? 0 : jt->second;
}

std::string Metrics::Render() const {
  std::lock_guard lock(mu_);
  std::string out;
  auto header = [&](const std::string& name, const char* fallback_type) {
    auto it = meta_.find(name);
    if (it != meta_.end() && !it->second.second.empty()) out += "# HELP " + name + " " + it->second.second + "\n";
    out += "# TYPE " + name + " " + (it != meta_.end() ? it->second.first : std::string(fallback_type)) + "\n";
  };
  for (const auto& [name, series] : counters_) {
    header(name, "counter");
    for (const auto& [labels, value] : series) out += name + labels + " " + FormatValue(value) + "\n";
  }
  for (const auto& [name, series] : histograms_) {
    header(name, "histogram");
    for (const auto& [labels, h] : series) {
      // Insert "le" into the label set: labels is "" or "{...}".
      auto with_le = [&](const std::string& le) {
        if (labels.empty()) return "{le=\"" + le + "\"}";
        return labels.substr(0, labels.size() - 1) + ",le=\"" + le + "\"}";
      };
      uint64_t cumulative = 0;
      for (size_t i = 0; i < h.bounds.size(); ++i) {
        cumulative += h.buckets[i];
        out += name + "_bucket" + with_le(FormatValue(h.bounds[i])) + " " + std::to_string(cumulative) + "\n";
      }
      out += name + "_bucket" + with_le("+Inf") + " " + std::to_string(h.count) + "\n";
      out += name + "_sum" + labels + " " + FormatValue(h.sum) + "\n";
      out += name + "_count" + labels + " " + std::to_string(h.count) + "\n";
    }
  }
  std::map<std::string, std::vector<const GaugeSeries*>> by_name;
  for (const auto& g : gauges_) by_name[g.name].push_back(&g);
  for (const auto& [name, list] : by_name) {
    header(name, "gauge");
    for (const GaugeSeries* g : list) out += name + FormatLabels(g->labels) + " " + FormatValue(g->read()) + "\n";
  }
  return out;
}

}  // namespace dv::server
