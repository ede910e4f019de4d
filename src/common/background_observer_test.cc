#include "common/background_observer.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <thread>

#include "common/sha256.h"

namespace citybooks {
namespace {

TEST(BackgroundObserver, ObservesEveryByteInOrderWhateverTheChunking) {
  std::mt19937 random(7);
  std::string input;
  for (int i = 0; i < 300000; ++i) input.push_back(static_cast<char>(random()));
  for (size_t buffer_bytes : {1, 7, 4096, 1 << 20}) {
    // Tiny buffers hand over a chunk per byte or so: a shorter input will do.
    const std::string_view in =
        std::string_view(input).substr(0, buffer_bytes < 100 ? 20000 : input.size());
    Sha256 expected;
    expected.Update(in);
    const std::string want = expected.HexDigest();
    std::string seen;
    Sha256 sha;
    BackgroundObserver observer(
        [&](std::string_view chunk) {
          EXPECT_LE(chunk.size(), buffer_bytes);
          seen.append(chunk);
          sha.Update(chunk);
        },
        buffer_bytes, 3);
    for (size_t at = 0; at < in.size();) {
      size_t n = std::min<size_t>(1 + random() % 9000, in.size() - at);
      observer.Feed(in.substr(at, n));
      at += n;
    }
    observer.Finish();
    EXPECT_EQ(seen, in) << "buffers of " << buffer_bytes;
    EXPECT_EQ(sha.HexDigest(), want);
  }
}

TEST(BackgroundObserver, FinishWaitsForASlowObserverAndFeedMayFollow) {
  int observed = 0;
  BackgroundObserver observer(
      [&](std::string_view chunk) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        observed += static_cast<int>(chunk.size());
      },
      4, 2);
  observer.Feed("abcdefghij");  // three chunks, more than the two buffers
  observer.Finish();
  EXPECT_EQ(observed, 10);
  observer.Feed("xy");
  observer.Finish();
  EXPECT_EQ(observed, 12);
}

TEST(BackgroundObserver, DestructionObservesWhatWasFed) {
  std::string seen;
  {
    BackgroundObserver observer([&](std::string_view chunk) { seen.append(chunk); });
    observer.Feed("left ");
    observer.Feed("unfinished");
  }
  EXPECT_EQ(seen, "left unfinished");
}

}  // namespace
}  // namespace citybooks
