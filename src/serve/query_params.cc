#include "serve/query_params.h"

#include <set>

#include "common/csv_reader.h"
#include "common/text.h"

namespace citybooks {

namespace {

// `text` for an error message: cut short and with quotes escaped, so a
// hostile value cannot make the message unreadable.
std::string Shown(std::string_view text) {
  std::string shown = SanitizeText(text, 60, true);
  std::string out;
  for (char c : shown) out += c == '"' ? std::string("\\\"") : std::string(1, c);
  return "\"" + out + "\"";
}

bool IsDigits(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text)
    if (c < '0' || c > '9') return false;
  return true;
}

}  // namespace

bool IsRefText(std::string_view text) {
  if (text.empty() || text.size() > 128) return false;
  for (char c : text)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '.'))
      return false;
  return true;
}

bool IsPathName(std::string_view text) {
  if (text.empty() || text.size() > 128) return false;
  for (char c : text)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
  return true;
}

ApiResult<QueryParams> QueryParams::Make(const std::multimap<std::string, std::string>& params) {
  QueryParams out;
  for (const auto& [name, value] : params) {
    std::string shown_name = SanitizeText(name, 40, true);
    if (value.size() > kMaxParameterBytes)
      return ApiFail(shown_name, "the value of " + shown_name + " is " +
                                     std::to_string(value.size()) + " bytes long; at most " +
                                     std::to_string(kMaxParameterBytes) + " are accepted");
    if (!IsValidUtf8(value) || !IsValidUtf8(name))
      return ApiFail(shown_name, "the value of " + shown_name + " is not valid UTF-8 text");
    if (!out.values_.emplace(name, value).second)
      return ApiFail(shown_name, shown_name +
                                     " is given more than once; give it once and separate "
                                     "several values with |");
  }
  return out;
}

std::optional<std::string> QueryParams::Get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::string QueryParams::GetOr(const std::string& name, const std::string& fallback) const {
  auto value = Get(name);
  return value ? *value : fallback;
}

ApiResult<std::vector<RawCut>> ParseCuts(std::string_view text, const std::string& parameter) {
  std::vector<RawCut> cuts;
  size_t at = 0;
  if (Trim(text).empty()) return cuts;
  while (at <= text.size()) {
    size_t start = at;
    size_t colon = text.find(':', at);
    if (colon == std::string_view::npos)
      return ApiFail(parameter, "the cut " + Shown(text.substr(at)) +
                                    " has no value; write ref:value, e.g. "
                                    "program.department:\"Police\" or fiscal_year:2019-2021");
    RawCut cut;
    cut.ref = std::string(Trim(text.substr(at, colon - at)));
    if (!IsRefText(cut.ref))
      return ApiFail(
          parameter,
          Shown(cut.ref) + " is not an attribute name; cuts are dimension.attribute:value");
    at = colon + 1;
    while (true) {
      RawCutValue value;
      if (at < text.size() && text[at] == '"') {
        value.quoted = true;
        ++at;
        bool closed = false;
        while (at < text.size()) {
          char c = text[at++];
          if (c == '\\' && at < text.size()) {
            value.text += text[at++];
          } else if (c == '"') {
            closed = true;
            break;
          } else {
            value.text += c;
          }
        }
        if (!closed)
          return ApiFail(parameter,
                         "the quoted value of the cut on " + cut.ref + " has no closing quote");
        if (at < text.size() && text[at] != ';' && text[at] != '|')
          return ApiFail(parameter, "the cut on " + cut.ref +
                                        " continues after its closing quote; separate values "
                                        "with ; and cuts with |");
      } else {
        size_t end = text.find_first_of(";|", at);
        if (end == std::string_view::npos) end = text.size();
        value.text = std::string(Trim(text.substr(at, end - at)));
        at = end;
        if (value.text.empty())
          return ApiFail(parameter, "the cut on " + cut.ref + " has an empty value");
      }
      if (value.text.size() > kMaxValueBytes)
        return ApiFail(parameter, "a value of the cut on " + cut.ref + " is " +
                                      std::to_string(value.text.size()) + " bytes long; at most " +
                                      std::to_string(kMaxValueBytes) + " are accepted");
      cut.values.push_back(std::move(value));
      if (cut.values.size() > kMaxValuesPerCut)
        return ApiFail(parameter, "the cut on " + cut.ref + " lists more than " +
                                      std::to_string(kMaxValuesPerCut) + " values");
      if (at < text.size() && text[at] == ';') {
        ++at;
        continue;
      }
      break;
    }
    cut.source = std::string(text.substr(start, at - start));
    cuts.push_back(std::move(cut));
    if (cuts.size() > kMaxCuts)
      return ApiFail(parameter, "more than " + std::to_string(kMaxCuts) + " cuts are given");
    if (at >= text.size()) break;
    ++at;  // the '|'
    if (at >= text.size()) return ApiFail(parameter, "the cut list ends with a stray |");
  }
  return cuts;
}

std::vector<CutValue> TypeValuesLoosely(const std::vector<RawCutValue>& values) {
  std::vector<CutValue> typed;
  for (const RawCutValue& raw : values) {
    CutValue value;
    value.text = raw.text;
    size_t dash = raw.text.find('-', 1);
    if (!raw.quoted && ParseInt(raw.text)) {
      value.kind = CutValue::Kind::kInteger;
      value.integer = *ParseInt(raw.text);
    } else if (!raw.quoted && dash != std::string::npos && IsDigits(raw.text.substr(0, dash)) &&
               IsDigits(raw.text.substr(dash + 1)) && ParseInt(raw.text.substr(0, dash)) &&
               ParseInt(raw.text.substr(dash + 1))) {
      value.kind = CutValue::Kind::kRange;
      value.integer = *ParseInt(raw.text.substr(0, dash));
      value.upper = *ParseInt(raw.text.substr(dash + 1));
    }
    typed.push_back(std::move(value));
  }
  return typed;
}

ApiResult<std::vector<Cut>> ResolveCuts(const Cube& cube, const std::vector<RawCut>& raw) {
  std::vector<Cut> cuts;
  for (const RawCut& raw_cut : raw) {
    Cut cut;
    cut.source = raw_cut.source;
    cut.attribute = cube.FindAttribute(raw_cut.ref);
    if (cut.attribute == nullptr) {
      if (cube.IsMeasure(raw_cut.ref))
        return ApiFail("cut", raw_cut.ref +
                                  " is a measure; cuts select members of dimension attributes "
                                  "such as " +
                                  cube.attributes().front().ref);
      return ApiFail("cut", "the cube " + cube.dataset() + " has no attribute " +
                                Shown(raw_cut.ref) + "; known: " + cube.AttributeRefList());
    }
    for (const RawCutValue& raw_value : raw_cut.values) {
      CutValue value;
      value.text = raw_value.text;
      if (!cut.attribute->integer) {
        cut.values.push_back(std::move(value));
        continue;
      }
      const std::string& text = raw_value.text;
      size_t dash = text.find('-', 1);
      if (auto number = ParseInt(text); number && (IsDigits(text) || text[0] == '-')) {
        value.kind = CutValue::Kind::kInteger;
        value.integer = *number;
      } else if (dash != std::string::npos && IsDigits(text.substr(0, dash)) &&
                 IsDigits(text.substr(dash + 1)) && ParseInt(text.substr(0, dash)) &&
                 ParseInt(text.substr(dash + 1))) {
        value.kind = CutValue::Kind::kRange;
        value.integer = *ParseInt(text.substr(0, dash));
        value.upper = *ParseInt(text.substr(dash + 1));
        if (value.integer > value.upper)
          return ApiFail("cut", "the range " + Shown(text) + " of " + cut.attribute->ref +
                                    " runs backwards; write the smaller end first, e.g. " +
                                    std::to_string(value.upper) + "-" +
                                    std::to_string(value.integer));
      } else {
        return ApiFail("cut", cut.attribute->ref + " takes whole numbers or ranges such as " +
                                  "2019-2021, not " + Shown(text));
      }
      cut.values.push_back(std::move(value));
    }
    cuts.push_back(std::move(cut));
  }
  return cuts;
}

ApiResult<std::vector<std::string>> ParseRefList(std::string_view text,
                                                 const std::string& parameter) {
  std::vector<std::string> refs;
  std::set<std::string> seen;
  if (Trim(text).empty()) return refs;
  size_t at = 0;
  while (at <= text.size()) {
    size_t end = text.find_first_of("|,", at);
    if (end == std::string_view::npos) end = text.size();
    std::string ref(Trim(text.substr(at, end - at)));
    if (!IsRefText(ref))
      return ApiFail(parameter, Shown(ref) + " is not a valid name in " + parameter +
                                    "; names are dimension.attribute or an aggregate such "
                                    "as amount.sum, separated by |");
    if (!seen.insert(ref).second)
      return ApiFail(parameter, ref + " is listed twice in " + parameter);
    refs.push_back(std::move(ref));
    if (refs.size() > kMaxRefs)
      return ApiFail(parameter,
                     parameter + " lists more than " + std::to_string(kMaxRefs) + " names");
    at = end + 1;
  }
  return refs;
}

ApiResult<std::vector<const CubeAttribute*>> ResolveAttributes(const Cube& cube,
                                                               const std::vector<std::string>& refs,
                                                               const std::string& parameter) {
  std::vector<const CubeAttribute*> attributes;
  for (const std::string& ref : refs) {
    const CubeAttribute* attribute = cube.FindAttribute(ref);
    if (attribute == nullptr) {
      if (cube.IsMeasure(ref))
        return ApiFail(parameter, ref + " is a measure; " + parameter +
                                      " takes dimension attributes, e.g. " +
                                      cube.attributes().front().ref);
      return ApiFail(parameter, "the cube " + cube.dataset() + " has no attribute " + Shown(ref) +
                                    "; known: " + cube.AttributeRefList());
    }
    for (const CubeAttribute* seen : attributes)
      if (seen == attribute) return ApiFail(parameter, ref + " is listed twice in " + parameter);
    attributes.push_back(attribute);
  }
  return attributes;
}

ApiResult<std::vector<OrderKey>> ParseOrder(std::string_view text) {
  std::vector<OrderKey> keys;
  if (Trim(text).empty()) return keys;
  size_t at = 0;
  while (at <= text.size()) {
    size_t end = text.find_first_of(",|", at);
    if (end == std::string_view::npos) end = text.size();
    std::string_view item = Trim(text.substr(at, end - at));
    OrderKey key;
    size_t colon = item.rfind(':');
    std::string_view direction;
    if (colon != std::string_view::npos) {
      direction = item.substr(colon + 1);
      item = item.substr(0, colon);
    }
    key.ref = std::string(item);
    if (!IsRefText(key.ref))
      return ApiFail("order", Shown(key.ref) +
                                  " is not a name to order by; write ref:asc or ref:desc, e.g. "
                                  "amount.sum:desc");
    std::string lower = AsciiLower(direction);
    if (lower == "desc") {
      key.descending = true;
    } else if (!(lower.empty() || lower == "asc")) {
      return ApiFail("order", "the direction " + Shown(direction) + " of " + key.ref +
                                  " is neither asc nor desc");
    }
    keys.push_back(std::move(key));
    if (keys.size() > kMaxRefs)
      return ApiFail("order", "order lists more than " + std::to_string(kMaxRefs) + " keys");
    at = end + 1;
  }
  return keys;
}

ApiResult<Paging> ParsePaging(const QueryParams& params) {
  Paging paging;
  if (auto page = params.Get("page")) {
    std::string_view text = Trim(*page);
    auto value = IsDigits(text) ? ParseInt(text) : std::nullopt;
    if (!value || *value > kMaxPage)
      return ApiFail("page",
                     "page must be a whole number from 0 (the first page), not " + Shown(*page));
    paging.page = *value;
  }
  if (auto size = params.Get("pagesize")) {
    std::string_view text = Trim(*size);
    auto value = IsDigits(text) ? ParseInt(text) : std::nullopt;
    if (!value)
      return ApiFail("pagesize", "pagesize must be a whole number from 0 to " +
                                     std::to_string(kMaxPageSize) + ", not " + Shown(*size));
    if (*value > kMaxPageSize)
      return ApiFail("pagesize", "pagesize " + std::string(text) + " is over the maximum of " +
                                     std::to_string(kMaxPageSize) +
                                     "; page through larger answers");
    paging.pagesize = *value;
  }
  return paging;
}

}  // namespace citybooks
