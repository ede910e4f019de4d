// The parts of the S3 REST protocol that need no I/O, for the S3 backend:
// s3:// URLs, URI encoding as SigV4 and S3 want it, and reading and writing
// the few XML documents S3 exchanges (errors, ListObjectsV2 pages, multipart
// uploads). Not public API.
//
//   CB_ASSIGN_OR_RETURN(S3Location where, ParseS3Url("s3://bucket/raw"));
//   CB_ASSIGN_OR_RETURN(S3ListPage page, ParseListObjectsV2(response.body));
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "store/object_store.h"

namespace citybooks::store_internal {

// Where an "s3://bucket/prefix" URL points. `prefix` has no leading or
// trailing '/' and may be empty (the whole bucket).
struct S3Location {
  std::string bucket;
  std::string prefix;
};

// kInvalidArgument naming the URL when the bucket name breaks S3's rules
// (3-63 of a-z 0-9 . -, starting and ending with a letter or digit) or the
// prefix breaks the key rules of object_store.h.
Result<S3Location> ParseS3Url(std::string_view url);

// Percent-encodes every byte but the RFC 3986 unreserved characters
// (A-Z a-z 0-9 - . _ ~), and '/' when `keep_slash`: the one encoding that a
// path or query parameter of a SigV4-signed S3 request may use.
std::string UriEncode(std::string_view text, bool keep_slash);

// Decodes %XX escapes (and '+' as a space when `plus_is_space`, as S3's
// encoding-type=url listings use it). A '%' not followed by two hex digits
// stays as it is.
std::string UriDecode(std::string_view text, bool plus_is_space);

// XML text: the five predefined entities and numeric references (&#38;,
// &#x26;) are decoded; an unknown or malformed reference stays as written.
std::string XmlUnescape(std::string_view text);
std::string XmlEscape(std::string_view text);

// The raw (still escaped) content of the first element named `tag` in
// `xml`, "" for an empty element (<Tag/>), nullopt when there is none. A
// minimal reader for S3's flat documents: elements of one name never nest.
std::optional<std::string_view> XmlElement(std::string_view xml, std::string_view tag);
// The raw content of every element named `tag`, in document order.
std::vector<std::string_view> XmlElements(std::string_view xml, std::string_view tag);

// The Code and Message of an S3 <Error> document; empty when absent.
struct S3ErrorBody {
  std::string code;
  std::string message;
};
S3ErrorBody ParseS3Error(std::string_view xml);

// One page of a ListObjectsV2 answer. Keys are decoded (XML entities, and
// the URL encoding when the answer says <EncodingType>url</EncodingType>).
struct S3ListPage {
  std::vector<ObjectInfo> objects;
  bool truncated = false;
  std::string next_continuation_token;
};
// kDataError when the document is not a ListBucketResult, a size is not a
// number, or a truncated page has no continuation token.
Result<S3ListPage> ParseListObjectsV2(std::string_view xml);

// The UploadId of an InitiateMultipartUploadResult; kDataError if absent.
Result<std::string> ParseUploadId(std::string_view xml);

// The CompleteMultipartUpload body for parts 1..n with these ETags.
std::string CompleteMultipartUploadXml(const std::vector<std::string>& part_etags);

}  // namespace citybooks::store_internal
