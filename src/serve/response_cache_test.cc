// The response cache answers only at the version an entry was computed at
// and stays within its size by dropping the least recently used entries.
#include "serve/response_cache.h"

#include <gtest/gtest.h>

namespace citybooks {
namespace {

CachedResponse Body(const std::string& text) { return {"application/json", "", text}; }

TEST(ResponseCache, AnswersOnlyAtTheSameVersion) {
  ResponseCache cache(1 << 20);
  cache.Store("/a", "v1", Body("one"));
  ASSERT_NE(cache.Find("/a", "v1"), nullptr);
  EXPECT_EQ(cache.Find("/a", "v1")->body, "one");
  EXPECT_EQ(cache.Find("/a", "v2"), nullptr);
  EXPECT_EQ(cache.Find("/b", "v1"), nullptr);
  cache.Store("/a", "v2", Body("two"));
  EXPECT_EQ(cache.Find("/a", "v1"), nullptr);
  EXPECT_EQ(cache.Find("/a", "v2")->body, "two");
}

TEST(ResponseCache, DropsTheLeastRecentlyUsedWhenFull) {
  ResponseCache cache(4000);
  std::string body(300, 'x');
  for (int i = 0; i < 10; ++i) cache.Store("/" + std::to_string(i), "v", Body(body));
  EXPECT_EQ(cache.Find("/0", "v"), nullptr);
  EXPECT_NE(cache.Find("/9", "v"), nullptr);
  // Too large for the cache: not kept at all.
  cache.Store("/big", "v", Body(std::string(2000, 'y')));
  EXPECT_EQ(cache.Find("/big", "v"), nullptr);
}

}  // namespace
}  // namespace citybooks
