// Configuration: a schema of typed, range-checked keys, filled from (lowest to highest precedence)
// built-in defaults, a TOML file, DEEPVAULT_* environment variables, and command-line flags.
//
// Key "log.level" is `[log] level = "info"` in TOML, DEEPVAULT_LOG_LEVEL in the environment, and
// `--set log.level=info` (or a dedicated flag such as --log-level) on the command line.
//
// Every value is validated where it enters; errors name the key, where the value came from and
// what is allowed. Unknown keys in the file or on the command line are errors; unknown
// DEEPVAULT_* environment variables are warnings (they may belong to another tool version).
//
// Thread safety: a loaded Config is immutable and may be shared between threads.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "deepvault/status.h"

namespace dv {

enum class ConfigType {
  kBool,    // true/false (env and flags: true, false, 1, 0, yes, no, on, off)
  kInt,     // 64-bit integer within [min, max]
  kDouble,  // finite number within [min, max]
  kString,  // any UTF-8 string without NUL, at most 4096 bytes
  kEnum,    // one of `choices`
  kPath,    // non-empty filesystem path; a leading "~/" is expanded to $HOME
};

struct ConfigKeySpec {
  std::string key;  // dotted name, lower_snake_case segments: "server.port"
  ConfigType type;
  std::string default_value;  // in the same textual form as env/flags accept
  double min = 0;             // for kInt / kDouble
  double max = 0;
  std::vector<std::string> choices;  // for kEnum
  std::string help;
};

using ConfigValue = std::variant<bool, int64_t, double, std::string>;

// One version of a model entry with weighted routing (canary rollout).
struct ModelVersionConfig {
  std::string name;             // served as "<alias>:<name>"
  std::filesystem::path file;   // absolute; exists
  double weight = 0;            // share of traffic, relative to the other versions' weights
};

// One `[[models]]` entry of the config file. Either `file` (one model) or `versions` is set.
struct ModelEntryConfig {
  std::string alias;                         // the name clients ask for
  std::filesystem::path file;                // absolute; exists; empty when `versions` is set
  std::vector<ModelVersionConfig> versions;  // weighted versions; empty when `file` is set
  std::optional<int64_t> context;            // tokens per sequence slot (server.context otherwise)
  std::optional<int64_t> threads;            // compute threads (threads otherwise)
  std::optional<int64_t> parallel;           // sequence slots (server.parallel otherwise)
  // Default sampling, applied when a request does not set the field.
  std::optional<double> temperature, top_p, min_p;
  std::optional<int64_t> top_k;
  std::string fallback;  // alias served while this model's circuit breaker is open; "" = none
  std::string source;    // "file <path>, models[<i>]" for error messages
};

struct ConfigSources {
  std::optional<std::filesystem::path> file;                // TOML; absent = no file
  std::map<std::string, std::string> env;                   // only DEEPVAULT_* entries are looked at
  std::vector<std::pair<std::string, std::string>> flags;   // key → value, applied in order
};

class Config {
 public:
  // Builds the effective configuration. Returns InvalidArgument naming the key on any bad value,
  // NotFound when `sources.file` does not exist.
  static Result<Config> Load(const std::vector<ConfigKeySpec>& schema, const ConfigSources& sources);

  // REQUIRES: `key` is in the schema with the matching type (checked with assert; a wrong
  // call in release builds returns the type's zero value).
  bool GetBool(const std::string& key) const;
  int64_t GetInt(const std::string& key) const;
  double GetDouble(const std::string& key) const;
  const std::string& GetString(const std::string& key) const;  // kString, kEnum and kPath

  // "default", "file <path>", "env DEEPVAULT_X", or "flag".
  const std::string& SourceOf(const std::string& key) const;
  // The `[[models]]` entries of the config file, validated: known keys only, values in range,
  // files that exist (a relative `file` is relative to the config file's folder), unique aliases
  // and version names, positive total weight. Cross-references (`fallback`) are checked by the
  // server, which also knows the models of the models directory.
  const std::vector<ModelEntryConfig>& models() const { return models_; }
  // Warnings gathered while loading (unknown environment variables).
  const std::vector<std::string>& warnings() const { return warnings_; }

  // The effective configuration as a TOML document, each value annotated with its source.
  std::string ToToml() const;

 private:
  struct Entry {
    ConfigKeySpec spec;
    ConfigValue value;
    std::string source;
  };
  const Entry* Find(const std::string& key) const;

  std::map<std::string, Entry> entries_;
  std::vector<ModelEntryConfig> models_;
  std::vector<std::string> warnings_;
};

// "server.port" → "DEEPVAULT_SERVER_PORT".
std::string EnvNameForKey(const std::string& key);
// The DEEPVAULT_* variables of this process.
std::map<std::string, std::string> ProcessEnvironment();
// The keys deepvault itself understands (documented in docs/CONFIG.md).
const std::vector<ConfigKeySpec>& DefaultConfigSchema();

}  // namespace dv
