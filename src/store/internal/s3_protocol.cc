// S3 URLs, encodings and XML documents; see s3_protocol.h.
#include "store/internal/s3_protocol.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/text.h"
#include "store/internal/store_internal.h"

namespace citybooks::store_internal {

namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Appends `code_point` as UTF-8; false for values that are not characters.
bool AppendUtf8(uint32_t code_point, std::string* out) {
  if (code_point == 0 || code_point > 0x10FFFF || (code_point >= 0xD800 && code_point <= 0xDFFF)) {
    return false;
  }
  if (code_point < 0x80) {
    out->push_back(static_cast<char>(code_point));
  } else if (code_point < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (code_point >> 6)));
    out->push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else if (code_point < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (code_point >> 12)));
    out->push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (code_point >> 18)));
    out->push_back(static_cast<char>(0x80 | ((code_point >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  }
  return true;
}

// Decodes the entity `name` (between '&' and ';'); false if unknown.
bool AppendEntity(std::string_view name, std::string* out) {
  if (name == "amp") return out->push_back('&'), true;
  if (name == "lt") return out->push_back('<'), true;
  if (name == "gt") return out->push_back('>'), true;
  if (name == "quot") return out->push_back('"'), true;
  if (name == "apos") return out->push_back('\''), true;
  if (name.size() < 2 || name[0] != '#') return false;
  bool hex = name[1] == 'x' || name[1] == 'X';
  std::string_view digits = name.substr(hex ? 2 : 1);
  if (digits.empty() || digits.size() > 8) return false;
  uint32_t value = 0;
  for (char c : digits) {
    int digit = HexValue(c);
    if (digit < 0 || (!hex && digit > 9)) return false;
    value = value * (hex ? 16 : 10) + static_cast<uint32_t>(digit);
  }
  return AppendUtf8(value, out);
}

bool IsBucketCharacter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

bool IsLetterOrDigit(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

std::unexpected<Error> BadList(std::string_view why) {
  return Fail(ErrorCode::kDataError,
              "The S3 server's object listing cannot be read: " + std::string(why) + ".");
}

}  // namespace

Result<S3Location> ParseS3Url(std::string_view url) {
  constexpr std::string_view kScheme = "s3://";
  auto invalid = [&](std::string_view why) {
    return Fail(ErrorCode::kInvalidArgument, "The raw zone URL '" + std::string(url) +
                                                 "' is invalid: " + std::string(why) + ".");
  };
  if (!url.starts_with(kScheme)) return invalid("it does not start with s3://");
  std::string_view rest = url.substr(kScheme.size());
  size_t slash = rest.find('/');
  S3Location location;
  location.bucket = std::string(rest.substr(0, slash));
  const std::string& bucket = location.bucket;
  if (bucket.empty()) return invalid("it names no bucket, as in s3://bucket/prefix");
  if (bucket.size() < 3 || bucket.size() > 63 ||
      !std::all_of(bucket.begin(), bucket.end(), IsBucketCharacter) ||
      !IsLetterOrDigit(bucket.front()) || !IsLetterOrDigit(bucket.back()) ||
      bucket.find("..") != std::string::npos) {
    return invalid("the bucket name '" + bucket +
                   "' must be 3 to 63 lower-case letters, digits, '.' or '-', starting and "
                   "ending with a letter or digit");
  }
  if (slash != std::string_view::npos) {
    std::string_view prefix = rest.substr(slash + 1);
    while (!prefix.empty() && prefix.back() == '/') prefix.remove_suffix(1);
    if (!prefix.empty()) {
      Status valid = ValidateObjectKey(prefix);
      if (!valid)
        return invalid("its prefix '" + std::string(prefix) + "' is not a valid key path");
      location.prefix = std::string(prefix);
    }
  }
  return location;
}

std::string UriEncode(std::string_view text, bool keep_slash) {
  return PercentEncode(text, keep_slash ? "/" : "");
}

std::string UriDecode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && HexValue(text[i + 1]) >= 0 &&
        HexValue(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(text[i + 1]) * 16 + HexValue(text[i + 2])));
      i += 2;
    } else if (text[i] == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

std::string XmlUnescape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '&') {
      size_t end = text.find(';', i + 1);
      // Entities are short; a far ';' belongs to something else.
      if (end != std::string_view::npos && end - i <= 12 &&
          AppendEntity(text.substr(i + 1, end - i - 1), &out)) {
        i = end;
        continue;
      }
    }
    out.push_back(text[i]);
  }
  return out;
}

std::string XmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

namespace {

// Finds the next element `tag` at or after `from`: sets *content to its raw
// content and returns the position after it, or npos.
size_t NextElement(std::string_view xml, std::string_view tag, size_t from,
                   std::string_view* content) {
  const std::string open = "<" + std::string(tag);
  const std::string close = "</" + std::string(tag) + ">";
  for (size_t at = xml.find(open, from); at != std::string_view::npos;
       at = xml.find(open, at + 1)) {
    size_t after_name = at + open.size();
    if (after_name >= xml.size()) return std::string_view::npos;
    char next = xml[after_name];
    // "<Key" must not match "<KeyCount>".
    if (next != '>' && next != '/' && next != ' ' && next != '\t' && next != '\r' && next != '\n')
      continue;
    size_t tag_end = xml.find('>', after_name);
    if (tag_end == std::string_view::npos) return std::string_view::npos;
    if (xml[tag_end - 1] == '/') {  // <Tag/> or <Tag attr="x"/>
      *content = xml.substr(tag_end + 1, 0);
      return tag_end + 1;
    }
    size_t end = xml.find(close, tag_end + 1);
    if (end == std::string_view::npos) return std::string_view::npos;
    *content = xml.substr(tag_end + 1, end - tag_end - 1);
    return end + close.size();
  }
  return std::string_view::npos;
}

}  // namespace

std::optional<std::string_view> XmlElement(std::string_view xml, std::string_view tag) {
  std::string_view content;
  if (NextElement(xml, tag, 0, &content) == std::string_view::npos) return std::nullopt;
  return content;
}

std::vector<std::string_view> XmlElements(std::string_view xml, std::string_view tag) {
  std::vector<std::string_view> elements;
  std::string_view content;
  for (size_t at = NextElement(xml, tag, 0, &content); at != std::string_view::npos;
       at = NextElement(xml, tag, at, &content)) {
    elements.push_back(content);
  }
  return elements;
}

S3ErrorBody ParseS3Error(std::string_view xml) {
  S3ErrorBody error;
  std::optional<std::string_view> body = XmlElement(xml, "Error");
  if (!body) return error;
  if (auto code = XmlElement(*body, "Code")) error.code = XmlUnescape(Trim(*code));
  if (auto message = XmlElement(*body, "Message")) error.message = XmlUnescape(Trim(*message));
  return error;
}

Result<S3ListPage> ParseListObjectsV2(std::string_view xml) {
  std::optional<std::string_view> result = XmlElement(xml, "ListBucketResult");
  if (!result) return BadList("it is not a ListBucketResult document");
  std::optional<std::string_view> encoding = XmlElement(*result, "EncodingType");
  const bool url_encoded = encoding && Trim(*encoding) == "url";

  S3ListPage page;
  // <Contents> holds no element of the page's own names, so the page's
  // fields are looked up only outside of them.
  std::string outside;
  size_t copied = 0;
  std::string_view content;
  for (size_t at = NextElement(*result, "Contents", 0, &content); at != std::string_view::npos;
       at = NextElement(*result, "Contents", at, &content)) {
    size_t start = static_cast<size_t>(content.data() - result->data());
    size_t open = result->rfind("<Contents", start);
    outside.append(result->substr(copied, open - copied));
    copied = at;

    std::optional<std::string_view> key = XmlElement(content, "Key");
    std::optional<std::string_view> size = XmlElement(content, "Size");
    if (!key) return BadList("an entry has no <Key>");
    if (!size) return BadList("an entry has no <Size>");
    std::optional<int64_t> bytes = ParseInt(Trim(*size));
    if (!bytes || *bytes < 0) {
      return BadList("the size '" + SanitizeText(*size, 40, true) + "' is not a number");
    }
    std::string name = XmlUnescape(*key);
    if (url_encoded) name = UriDecode(name, true);
    page.objects.push_back(ObjectInfo{std::move(name), static_cast<uint64_t>(*bytes)});
  }
  outside.append(result->substr(copied));

  std::optional<std::string_view> truncated = XmlElement(outside, "IsTruncated");
  page.truncated = truncated && Trim(*truncated) == "true";
  if (page.truncated) {
    std::optional<std::string_view> token = XmlElement(outside, "NextContinuationToken");
    if (!token || Trim(*token).empty()) {
      return BadList("a truncated page has no <NextContinuationToken>");
    }
    page.next_continuation_token = XmlUnescape(Trim(*token));
  }
  return page;
}

Result<std::string> ParseUploadId(std::string_view xml) {
  std::optional<std::string_view> id = XmlElement(xml, "UploadId");
  if (!id || Trim(*id).empty()) {
    return Fail(ErrorCode::kDataError,
                "The S3 server's answer to CreateMultipartUpload holds no <UploadId>.");
  }
  return XmlUnescape(Trim(*id));
}

std::string CompleteMultipartUploadXml(const std::vector<std::string>& part_etags) {
  std::string xml = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">";
  for (size_t i = 0; i < part_etags.size(); ++i) {
    xml += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>" +
           XmlEscape(part_etags[i]) + "</ETag></Part>";
  }
  xml += "</CompleteMultipartUpload>";
  return xml;
}

}  // namespace citybooks::store_internal
