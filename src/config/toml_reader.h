// Strict reading of TOML tables for configs and mappings: every key must be
// known, every value of the expected type, and every error names the file,
// the key and its line.
//
//   CB_ASSIGN_OR_RETURN(auto root, ParseToml(text, "citybooks.toml"));
//   TomlTable table(root.get(), "citybooks.toml", "");
//   CB_ASSIGN_OR_RETURN(std::string url, table.String("url", "default"));
//   CB_RETURN_IF_ERROR(table.Finish());  // unknown keys are errors
#pragma once

#include <toml++/toml.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/error.h"
#include "config/config.h"

namespace citybooks {

// A parsed TOML document (owns the tree).
struct TomlDocument {
  toml::table root;
};

// Parses `text`; syntax errors name `file`, line and column.
Result<std::unique_ptr<TomlDocument>> ParseToml(const std::string& text, const std::string& file);

// A view of one table that remembers which keys were read.
class TomlTable {
 public:
  // `path` is the dotted name of this table for messages ("" for the root).
  TomlTable(const toml::table* table, std::string file, std::string path);

  bool Has(const std::string& key) const;
  std::vector<std::string> Keys() const;

  Result<std::string> String(const std::string& key, std::optional<std::string> fallback = {});
  Result<int64_t> Integer(const std::string& key, std::optional<int64_t> fallback = {});
  Result<double> Float(const std::string& key, std::optional<double> fallback = {});
  Result<bool> Boolean(const std::string& key, std::optional<bool> fallback = {});
  // An array of strings; empty when absent.
  Result<std::vector<std::string>> Strings(const std::string& key);
  // A sub-table; kInvalidArgument if present but not a table, nullopt if absent.
  Result<std::optional<TomlTable>> Table(const std::string& key);
  // An array of tables ([[key]] or key = [{...}]); empty when absent.
  Result<std::vector<TomlTable>> Tables(const std::string& key);

  // kInvalidArgument naming the first key that was never read.
  Status Finish() const;

  // "citybooks.toml: datasets.x.source (line 7)" style location of `key`.
  std::string Where(const std::string& key) const;
  // An error about `key` at its location.
  Error KeyError(const std::string& key, const std::string& problem) const;

  const std::string& path() const { return path_; }
  const std::string& file() const { return file_; }

 private:
  const toml::node* Get(const std::string& key);
  const toml::table* table_;
  std::string file_;
  std::string path_;
  std::set<std::string> read_;
};

// Reads a [[checks]] array (used by mappings and by dataset configs).
Result<std::vector<CheckSpec>> ReadChecks(TomlTable& parent);

}  // namespace citybooks
