#include "common/config.h"

#include <cassert>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include <toml++/toml.h>

extern char** environ;

namespace dv {
namespace {

constexpr size_t kMaxStringBytes = 4096;
constexpr std::string_view kEnvPrefix = "DEEPVAULT_";

std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string TypeName(ConfigType t) {
  switch (t) {
    case ConfigType::kBool: return "a boolean";
    case ConfigType::kInt: return "an integer";
    case ConfigType::kDouble: return "a number";
    case ConfigType::kString: return "a string";
    case ConfigType::kEnum: return "one of a fixed set of strings";
    case ConfigType::kPath: return "a path";
  }
  return "a value";
}

std::string FormatNumber(double v) {
  if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<int64_t>(v));
  std::ostringstream ss;
  ss << v;
  return ss.str();
}

std::string Join(const std::vector<std::string>& v, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += sep;
    out += v[i];
  }
  return out;
}

Status KeyError(const ConfigKeySpec& spec, const std::string& source, const std::string& problem) {
  return InvalidArgument("config key " + Quote(spec.key) + " (from " + source + "): " + problem);
}

std::string AllowedRange(const ConfigKeySpec& spec) {
  return "allowed range " + FormatNumber(spec.min) + ".." + FormatNumber(spec.max);
}

// Validates a value that already has the right C++ type.
Result<ConfigValue> Check(const ConfigKeySpec& spec, ConfigValue v, const std::string& source) {
  switch (spec.type) {
    case ConfigType::kBool:
      return v;
    case ConfigType::kInt: {
      const int64_t x = std::get<int64_t>(v);
      if (static_cast<double>(x) < spec.min || static_cast<double>(x) > spec.max) {
        return KeyError(spec, source, std::to_string(x) + " is out of range; " + AllowedRange(spec));
      }
      return v;
    }
    case ConfigType::kDouble: {
      const double x = std::get<double>(v);
      if (!std::isfinite(x) || x < spec.min || x > spec.max) {
        return KeyError(spec, source, FormatNumber(x) + " is out of range; " + AllowedRange(spec));
      }
      return v;
    }
    case ConfigType::kString:
    case ConfigType::kEnum:
    case ConfigType::kPath: {
      std::string& s = std::get<std::string>(v);
      if (s.size() > kMaxStringBytes) {
        return KeyError(spec, source, "value is " + std::to_string(s.size()) + " bytes; at most " +
                                          std::to_string(kMaxStringBytes) + " allowed");
      }
      if (s.find('\0') != std::string::npos) return KeyError(spec, source, "value contains a NUL byte");
      if (spec.type == ConfigType::kEnum) {
        bool found = false;
        for (const auto& c : spec.choices) found = found || c == s;
        if (!found) return KeyError(spec, source, Quote(s) + " is not allowed; allowed: " + Join(spec.choices, ", "));
      }
      if (spec.type == ConfigType::kPath) {
        if (s.empty() && !spec.default_value.empty()) return KeyError(spec, source, "path must not be empty");
        if (s.rfind("~/", 0) == 0) {
          const char* home = std::getenv("HOME");
          if (!home || !*home) return KeyError(spec, source, "cannot expand \"~\": HOME is not set");
          s = std::string(home) + s.substr(1);
        }
      }
      return v;
    }
  }
  return Internal("unknown config type");
}

// Parses the textual form used by defaults, environment variables and flags.
Result<ConfigValue> ParseText(const ConfigKeySpec& spec, const std::string& text, const std::string& source) {
  switch (spec.type) {
    case ConfigType::kBool: {
      std::string t;
      for (char c : text) t.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
      if (t == "true" || t == "1" || t == "yes" || t == "on") return ConfigValue(true);
      if (t == "false" || t == "0" || t == "no" || t == "off") return ConfigValue(false);
      return KeyError(spec, source, Quote(text) + " is not a boolean; use true or false");
    }
    case ConfigType::kInt: {
      int64_t x = 0;
      const char* end = text.data() + text.size();
      auto [ptr, ec] = std::from_chars(text.data(), end, x);
      if (text.empty() || ec == std::errc::result_out_of_range) {
        return KeyError(spec, source, Quote(text) + " is not a 64-bit integer; " + AllowedRange(spec));
      }
      if (ec != std::errc() || ptr != end) return KeyError(spec, source, Quote(text) + " is not an integer");
      return Check(spec, ConfigValue(x), source);
    }
    case ConfigType::kDouble: {
      char* end = nullptr;
      errno = 0;
      const double x = text.empty() ? 0 : std::strtod(text.c_str(), &end);
      if (text.empty() || end != text.c_str() + text.size() || errno == ERANGE) {
        return KeyError(spec, source, Quote(text) + " is not a number");
      }
      return Check(spec, ConfigValue(x), source);
    }
    case ConfigType::kString:
    case ConfigType::kEnum:
    case ConfigType::kPath:
      return Check(spec, ConfigValue(text), source);
  }
  return Internal("unknown config type");
}

Result<ConfigValue> FromToml(const ConfigKeySpec& spec, const toml::node& node, const std::string& source) {
  const std::string wrong = "expected " + TypeName(spec.type) + ", got " + std::string(toml::impl::node_type_friendly_names[static_cast<int>(node.type())]);
  switch (spec.type) {
    case ConfigType::kBool:
      if (auto v = node.value_exact<bool>()) return ConfigValue(*v);
      return KeyError(spec, source, wrong);
    case ConfigType::kInt:
      if (auto v = node.value_exact<int64_t>()) return Check(spec, ConfigValue(*v), source);
      return KeyError(spec, source, wrong);
    case ConfigType::kDouble:
      if (node.is_floating_point()) return Check(spec, ConfigValue(*node.value_exact<double>()), source);
      if (auto v = node.value_exact<int64_t>()) return Check(spec, ConfigValue(static_cast<double>(*v)), source);
      return KeyError(spec, source, wrong);
    case ConfigType::kString:
    case ConfigType::kEnum:
    case ConfigType::kPath:
      if (auto v = node.value_exact<std::string>()) return Check(spec, ConfigValue(*v), source);
      return KeyError(spec, source, wrong);
  }
  return Internal("unknown config type");
}

// Flattens nested tables into dotted keys. Arrays and arrays of tables are not part of the schema.
Status Flatten(const toml::table& table, const std::string& prefix,
               std::vector<std::pair<std::string, const toml::node*>>& out, const std::string& file) {
  for (const auto& [k, node] : table) {
    const std::string key = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    if (const auto* sub = node.as_table()) {
      DV_RETURN_IF_ERROR(Flatten(*sub, key, out, file));
    } else if (node.is_array()) {
      return InvalidArgument("config file " + file + ": key " + Quote(key) + ": arrays are not supported");
    } else {
      out.emplace_back(key, &node);
    }
  }
  return Status::Ok();
}

// ---- [[models]] entries ----

bool IsNameChar(char c, bool allow_slash) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' || (allow_slash && c == '/');
}

// A served model name: 1..200 of [A-Za-z0-9._-/] (':' is reserved for "<alias>:<version>").
Status CheckName(const std::string& name, const std::string& key, const std::string& source, size_t max_len,
                 bool allow_slash) {
  const std::string allowed = allow_slash ? "letters, digits, '.', '_', '-', '/'" : "letters, digits, '.', '_', '-'";
  if (name.empty() || name.size() > max_len) {
    return InvalidArgument("config key " + Quote(key) + " (from " + source + "): must be 1.." +
                           std::to_string(max_len) + " characters");
  }
  for (char c : name) {
    if (!IsNameChar(c, allow_slash)) {
      return InvalidArgument("config key " + Quote(key) + " (from " + source + "): " + Quote(name) +
                             " has a character outside " + allowed);
    }
  }
  return Status::Ok();
}

// A model file or HF folder named in an entry: "~/" expanded, relative to the config file's
// folder, must exist.
Result<std::filesystem::path> ModelPath(const toml::node& node, const std::string& key, const std::string& source,
                                        const std::filesystem::path& config_dir) {
  const ConfigKeySpec spec{key, ConfigType::kPath, "x", 0, 0, {}, ""};
  DV_ASSIGN_OR_RETURN(ConfigValue v, FromToml(spec, node, source));
  std::filesystem::path p = std::get<std::string>(v);
  if (p.empty()) return KeyError(spec, source, "path must not be empty");
  if (p.is_relative()) p = config_dir / p;
  std::error_code ec;
  const bool file = std::filesystem::is_regular_file(p, ec);
  const bool folder = !file && std::filesystem::is_regular_file(p / "config.json", ec);
  if (!file && !folder) {
    return KeyError(spec, source, Quote(p.string()) + " is neither a model file nor a folder with config.json");
  }
  return std::filesystem::absolute(p, ec).lexically_normal();
}

template <typename T>
Result<std::optional<T>> OptionalField(const toml::table& t, std::string_view name, const ConfigKeySpec& spec,
                                       const std::string& source) {
  const toml::node* node = t.get(name);
  if (!node) return std::optional<T>();
  DV_ASSIGN_OR_RETURN(ConfigValue v, FromToml(spec, *node, source));
  return std::optional<T>(std::get<T>(v));
}

Result<ModelVersionConfig> ParseVersion(const toml::node& node, const std::string& key, const std::string& source,
                                        const std::filesystem::path& config_dir) {
  const toml::table* t = node.as_table();
  if (!t) return InvalidArgument("config key " + Quote(key) + " (from " + source + "): expected a table {name, file, weight}");
  ModelVersionConfig v;
  for (const auto& [k, value] : *t) {
    const std::string field(k.str());
    if (field != "name" && field != "file" && field != "weight") {
      return InvalidArgument("config key " + Quote(key + "." + field) + " (from " + source +
                             "): unknown key; a version has name, file and weight");
    }
  }
  const toml::node* name = t->get("name");
  const toml::node* file = t->get("file");
  const toml::node* weight = t->get("weight");
  if (!name || !file || !weight) {
    return InvalidArgument("config key " + Quote(key) + " (from " + source + "): a version needs name, file and weight");
  }
  const ConfigKeySpec name_spec{key + ".name", ConfigType::kString, "", 0, 0, {}, ""};
  DV_ASSIGN_OR_RETURN(ConfigValue n, FromToml(name_spec, *name, source));
  v.name = std::get<std::string>(n);
  DV_RETURN_IF_ERROR(CheckName(v.name, key + ".name", source, 64, false));
  DV_ASSIGN_OR_RETURN(v.file, ModelPath(*file, key + ".file", source, config_dir));
  const ConfigKeySpec weight_spec{key + ".weight", ConfigType::kDouble, "", 0, 1e6, {}, ""};
  DV_ASSIGN_OR_RETURN(ConfigValue w, FromToml(weight_spec, *weight, source));
  v.weight = std::get<double>(w);
  return v;
}

Result<ModelEntryConfig> ParseModelEntry(const toml::node& node, size_t index, const std::string& file,
                                         const std::filesystem::path& config_dir) {
  const std::string at = "models[" + std::to_string(index) + "]";
  const std::string source = "file " + file;
  const toml::table* t = node.as_table();
  if (!t) return InvalidArgument("config file " + Quote(file) + ": " + at + " must be a table ([[models]])");
  static const char* kKeys[] = {"alias",   "file",  "versions", "context", "threads", "parallel",
                                "temperature", "top_p", "top_k",    "min_p",   "fallback"};
  for (const auto& [k, value] : *t) {
    bool known = false;
    for (const char* key : kKeys) known = known || k.str() == key;
    if (!known) {
      return InvalidArgument("config key " + Quote(at + "." + std::string(k.str())) + " (from " + source +
                             "): unknown key; allowed: alias, file, versions, context, threads, parallel, "
                             "temperature, top_p, top_k, min_p, fallback");
    }
  }
  ModelEntryConfig e;
  e.source = source + ", " + at;
  const toml::node* alias = t->get("alias");
  if (!alias) return InvalidArgument("config key " + Quote(at + ".alias") + " (from " + source + "): required");
  const ConfigKeySpec alias_spec{at + ".alias", ConfigType::kString, "", 0, 0, {}, ""};
  DV_ASSIGN_OR_RETURN(ConfigValue a, FromToml(alias_spec, *alias, source));
  e.alias = std::get<std::string>(a);
  DV_RETURN_IF_ERROR(CheckName(e.alias, at + ".alias", source, 200, true));

  const toml::node* path = t->get("file");
  const toml::node* versions = t->get("versions");
  if ((path != nullptr) == (versions != nullptr)) {
    return InvalidArgument("config key " + Quote(at) + " (from " + source + "): set exactly one of file and versions");
  }
  if (path) {
    DV_ASSIGN_OR_RETURN(e.file, ModelPath(*path, at + ".file", source, config_dir));
  }
  if (versions) {
    const toml::array* list = versions->as_array();
    if (!list || list->empty() || list->size() > 16) {
      return InvalidArgument("config key " + Quote(at + ".versions") + " (from " + source +
                             "): expected an array of 1..16 tables {name, file, weight}");
    }
    double total = 0;
    for (size_t i = 0; i < list->size(); ++i) {
      const std::string key = at + ".versions[" + std::to_string(i) + "]";
      DV_ASSIGN_OR_RETURN(ModelVersionConfig v, ParseVersion(*list->get(i), key, source, config_dir));
      for (const auto& other : e.versions) {
        if (other.name == v.name) {
          return InvalidArgument("config key " + Quote(key + ".name") + " (from " + source + "): version " +
                                 Quote(v.name) + " appears twice");
        }
      }
      total += v.weight;
      e.versions.push_back(std::move(v));
    }
    if (total <= 0) {
      return InvalidArgument("config key " + Quote(at + ".versions") + " (from " + source +
                             "): the weights add up to 0; at least one version needs a positive weight");
    }
  }
  auto spec = [&](const char* name, ConfigType type, double min, double max) {
    return ConfigKeySpec{at + "." + name, type, "", min, max, {}, ""};
  };
  DV_ASSIGN_OR_RETURN(e.context, OptionalField<int64_t>(*t, "context", spec("context", ConfigType::kInt, 16, 1048576), source));
  DV_ASSIGN_OR_RETURN(e.threads, OptionalField<int64_t>(*t, "threads", spec("threads", ConfigType::kInt, 0, 1024), source));
  DV_ASSIGN_OR_RETURN(e.parallel, OptionalField<int64_t>(*t, "parallel", spec("parallel", ConfigType::kInt, 1, 1024), source));
  DV_ASSIGN_OR_RETURN(e.temperature,
                      OptionalField<double>(*t, "temperature", spec("temperature", ConfigType::kDouble, 0, 2), source));
  DV_ASSIGN_OR_RETURN(e.top_p, OptionalField<double>(*t, "top_p", spec("top_p", ConfigType::kDouble, 1e-9, 1), source));
  DV_ASSIGN_OR_RETURN(e.min_p, OptionalField<double>(*t, "min_p", spec("min_p", ConfigType::kDouble, 0, 1), source));
  DV_ASSIGN_OR_RETURN(e.top_k, OptionalField<int64_t>(*t, "top_k", spec("top_k", ConfigType::kInt, 0, 1000000), source));
  DV_ASSIGN_OR_RETURN(auto fallback,
                      OptionalField<std::string>(*t, "fallback", spec("fallback", ConfigType::kString, 0, 0), source));
  if (fallback) {
    DV_RETURN_IF_ERROR(CheckName(*fallback, at + ".fallback", source, 200, true));
    if (*fallback == e.alias) {
      return InvalidArgument("config key " + Quote(at + ".fallback") + " (from " + source +
                             "): a model cannot be its own fallback");
    }
    e.fallback = *fallback;
  }
  return e;
}

Result<std::vector<ModelEntryConfig>> ParseModelEntries(const toml::node& node, const std::string& file) {
  const toml::array* list = node.as_array();
  if (!list) {
    return InvalidArgument("config file " + Quote(file) +
                           ": key \"models\" must be an array of tables; write each model as a [[models]] entry");
  }
  const std::filesystem::path config_dir = std::filesystem::path(file).parent_path();
  std::vector<ModelEntryConfig> out;
  for (size_t i = 0; i < list->size(); ++i) {
    DV_ASSIGN_OR_RETURN(ModelEntryConfig e, ParseModelEntry(*list->get(i), i, file, config_dir));
    for (const auto& other : out) {
      if (other.alias == e.alias) {
        return InvalidArgument("config key " + Quote("models[" + std::to_string(i) + "].alias") + " (from file " +
                               file + "): alias " + Quote(e.alias) + " is already used by " + other.source);
      }
    }
    out.push_back(std::move(e));
  }
  return out;
}

std::string TomlValue(const ConfigValue& v) {
  if (const auto* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
  if (const auto* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
  if (const auto* d = std::get_if<double>(&v)) {
    std::ostringstream ss;
    ss << *d;
    std::string s = ss.str();
    if (s.find_first_of(".eE") == std::string::npos) s += ".0";
    return s;
  }
  std::ostringstream ss;
  ss << toml::value<std::string>(std::get<std::string>(v));
  return ss.str();
}

}  // namespace

std::string EnvNameForKey(const std::string& key) {
  std::string out(kEnvPrefix);
  for (char c : key) out.push_back(c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  return out;
}

std::map<std::string, std::string> ProcessEnvironment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view entry(*e);
    if (entry.substr(0, kEnvPrefix.size()) != kEnvPrefix) continue;
    const size_t eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  return env;
}

Result<Config> Config::Load(const std::vector<ConfigKeySpec>& schema, const ConfigSources& sources) {
  Config cfg;
  for (const auto& spec : schema) {
    DV_ASSIGN_OR_RETURN(ConfigValue v, ParseText(spec, spec.default_value, "default"));
    if (!cfg.entries_.emplace(spec.key, Entry{spec, std::move(v), "default"}).second) {
      return Internal("duplicate config key in schema: " + spec.key);
    }
  }

  if (sources.file) {
    const std::string file = sources.file->string();
    std::error_code ec;
    if (!std::filesystem::is_regular_file(*sources.file, ec)) {
      return NotFound("config file " + Quote(file) + " does not exist or is not a regular file");
    }
    toml::table table;
    try {
      table = toml::parse_file(file);
    } catch (const toml::parse_error& e) {
      const auto& where = e.source().begin;
      return InvalidArgument("config file " + Quote(file) + " line " + std::to_string(where.line) + " column " +
                             std::to_string(where.column) + ": " + std::string(e.description()));
    }
    if (const toml::node* models = table.get("models")) {
      DV_ASSIGN_OR_RETURN(cfg.models_, ParseModelEntries(*models, file));
      table.erase("models");
    }
    std::vector<std::pair<std::string, const toml::node*>> flat;
    DV_RETURN_IF_ERROR(Flatten(table, "", flat, Quote(file)));
    for (const auto& [key, node] : flat) {
      auto it = cfg.entries_.find(key);
      if (it == cfg.entries_.end()) {
        return InvalidArgument("config file " + Quote(file) + ": unknown key " + Quote(key) +
                               " (see docs/CONFIG.md for the keys)");
      }
      const std::string source = "file " + file;
      DV_ASSIGN_OR_RETURN(it->second.value, FromToml(it->second.spec, *node, source));
      it->second.source = source;
    }
  }

  std::map<std::string, Entry*> by_env;
  for (auto& [key, entry] : cfg.entries_) by_env[EnvNameForKey(key)] = &entry;
  for (const auto& [name, value] : sources.env) {
    if (name.substr(0, kEnvPrefix.size()) != kEnvPrefix) continue;
    auto it = by_env.find(name);
    if (it == by_env.end()) {
      cfg.warnings_.push_back("environment variable " + name + " is not a deepvault config key; ignored");
      continue;
    }
    const std::string source = "env " + name;
    DV_ASSIGN_OR_RETURN(it->second->value, ParseText(it->second->spec, value, source));
    it->second->source = source;
  }

  for (const auto& [key, value] : sources.flags) {
    auto it = cfg.entries_.find(key);
    if (it == cfg.entries_.end()) {
      return InvalidArgument("command-line flag: unknown config key " + Quote(key) + " (see docs/CONFIG.md)");
    }
    DV_ASSIGN_OR_RETURN(it->second.value, ParseText(it->second.spec, value, "flag"));
    it->second.source = "flag";
  }
  return cfg;
}

const Config::Entry* Config::Find(const std::string& key) const {
  auto it = entries_.find(key);
  return it == entries_.end() ? nullptr : &it->second;
}

bool Config::GetBool(const std::string& key) const {
  const Entry* e = Find(key);
  assert(e && std::holds_alternative<bool>(e->value));
  return e && std::holds_alternative<bool>(e->value) ? std::get<bool>(e->value) : false;
}

int64_t Config::GetInt(const std::string& key) const {
  const Entry* e = Find(key);
  assert(e && std::holds_alternative<int64_t>(e->value));
  return e && std::holds_alternative<int64_t>(e->value) ? std::get<int64_t>(e->value) : 0;
}

double Config::GetDouble(const std::string& key) const {
  const Entry* e = Find(key);
  assert(e && std::holds_alternative<double>(e->value));
  return e && std::holds_alternative<double>(e->value) ? std::get<double>(e->value) : 0.0;
}

const std::string& Config::GetString(const std::string& key) const {
  static const std::string kEmpty;
  const Entry* e = Find(key);
  assert(e && std::holds_alternative<std::string>(e->value));
  return e && std::holds_alternative<std::string>(e->value) ? std::get<std::string>(e->value) : kEmpty;
}

const std::string& Config::SourceOf(const std::string& key) const {
  static const std::string kUnknown = "unknown";
  const Entry* e = Find(key);
  return e ? e->source : kUnknown;
}

std::string Config::ToToml() const {
  // Group keys by table (everything before the last dot).
  std::map<std::string, std::vector<const std::pair<const std::string, Entry>*>> tables;
  for (const auto& kv : entries_) {
    const size_t dot = kv.first.rfind('.');
    tables[dot == std::string::npos ? "" : kv.first.substr(0, dot)].push_back(&kv);
  }
  std::string out;
  for (const auto& [table, items] : tables) {
    if (!table.empty()) out += "\n[" + table + "]\n";
    for (const auto* kv : items) {
      const size_t dot = kv->first.rfind('.');
      const std::string leaf = dot == std::string::npos ? kv->first : kv->first.substr(dot + 1);
      out += leaf + " = " + TomlValue(kv->second.value) + "  # " + kv->second.source + "\n";
    }
  }
  return out;
}

const std::vector<ConfigKeySpec>& DefaultConfigSchema() {
  static const auto* kSchema = new std::vector<ConfigKeySpec>{
      {"data_dir", ConfigType::kPath, "~/.local/share/deepvault", 0, 0, {},
       "Directory holding every file deepvault writes (knowledge bases, catalog, models)."},
      {"models_dir", ConfigType::kPath, "", 0, 0, {},
       "Directory scanned for model files; empty means <data_dir>/models."},
      {"threads", ConfigType::kInt, "0", 0, 1024, {}, "Worker threads for compute; 0 = one per core."},
      {"mmap", ConfigType::kBool, "false", 0, 0, {},
       "Map model files instead of copying their weights into 2 MiB huge pages (instant load, memory shared with the "
       "page cache, but slower generation where TLB misses are costly)."},
      {"log.level", ConfigType::kEnum, "info", 0, 0, {"trace", "debug", "info", "warn", "error", "critical", "off"},
       "Minimum level written to the log."},
      {"log.format", ConfigType::kEnum, "text", 0, 0, {"text", "json"},
       "text: human-readable lines; json: one JSON object per line."},
      {"log.file", ConfigType::kString, "", 0, 0, {}, "Append the log to this file; empty = standard error."},
      // deepvault serve (src/server)
      {"server.host", ConfigType::kString, "127.0.0.1", 0, 0, {}, "Address the API server listens on."},
      {"server.port", ConfigType::kInt, "11435", 0, 65535, {}, "Port of the API server (0 = any free port)."},
      {"server.api_key", ConfigType::kString, "", 0, 0, {}, "Require 'Authorization: Bearer <key>'; empty = open."},
      {"server.tls_cert", ConfigType::kString, "", 0, 0, {}, "PEM certificate chain; set with tls_key for HTTPS (TLS 1.3)."},
      {"server.tls_key", ConfigType::kString, "", 0, 0, {}, "PEM private key of tls_cert."},
      {"server.io_threads", ConfigType::kInt, "2", 1, 64, {}, "Threads doing network I/O."},
      {"server.max_body_bytes", ConfigType::kInt, "8388608", 1024, 1073741824, {}, "Largest request body accepted."},
      {"server.max_header_bytes", ConfigType::kInt, "65536", 1024, 1048576, {}, "Largest request header block accepted."},
      {"server.request_timeout_s", ConfigType::kDouble, "30", 0.1, 3600, {}, "Time allowed to send one request."},
      {"server.idle_timeout_s", ConfigType::kDouble, "60", 0.1, 86400, {}, "Keep-alive connections idle longer are closed."},
      {"server.generation_timeout_s", ConfigType::kDouble, "600", 0.1, 86400, {}, "Default deadline of a generation request."},
      {"server.shutdown_grace_s", ConfigType::kDouble, "10", 0, 3600, {}, "On SIGINT/SIGTERM, time given to in-flight requests."},
      {"server.context", ConfigType::kInt, "4096", 16, 1048576, {}, "Context (tokens) of each sequence slot."},
      {"server.parallel", ConfigType::kInt, "4", 1, 1024, {}, "Sequences generated concurrently per model (KV slots)."},
      {"server.batch_tokens", ConfigType::kInt, "512", 1, 65536, {}, "Tokens per forward pass (decode + prompt chunk)."},
      {"server.queue", ConfigType::kInt, "64", 0, 1000000, {}, "Requests waiting per model before 429."},
      {"server.kv_budget_mib", ConfigType::kInt, "8192", 1, 16777216, {}, "KV cache memory per model."},
      {"server.memory_budget_mib", ConfigType::kInt, "32768", 1, 16777216, {}, "Weights + KV of all loaded models."},
      {"server.idle_unload_s", ConfigType::kInt, "300", 0, 31536000, {}, "Unload a model unused this long (0 = never)."},
      {"server.access_log", ConfigType::kString, "stderr", 0, 0, {}, "JSON access log: stderr, off, or a file path."},
      {"server.cache.max_bytes", ConfigType::kInt, "67108864", 0, 68719476736, {},
       "Response cache for deterministic requests (temperature 0 or a seed): byte budget; 0 = off."},
      {"server.cache.ttl_s", ConfigType::kDouble, "600", 0.001, 31536000, {}, "Response cache: seconds an answer stays valid."},
      {"server.breaker.window_s", ConfigType::kDouble, "60", 0.1, 86400, {},
       "Circuit breaker: window over which a model's error rate is measured."},
      {"server.breaker.error_rate", ConfigType::kDouble, "0.5", 0.01, 1, {},
       "Circuit breaker: error rate in the window that opens the circuit."},
      {"server.breaker.min_requests", ConfigType::kInt, "5", 1, 1000000, {},
       "Circuit breaker: requests the window needs before the error rate counts."},
      {"server.breaker.cooldown_s", ConfigType::kDouble, "30", 0.01, 86400, {},
       "Circuit breaker: time an open circuit waits before one half-open probe."},
  };
  return *kSchema;
}

}  // namespace dv
