#include "common/handoff.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>

namespace citybooks {
namespace {

TEST(Handoff, ItemsArriveInOrderAndAreReused) {
  Handoff<std::string> handoff(2);
  std::thread producer([&] {
    for (int i = 0; i < 100; ++i) {
      std::unique_ptr<std::string> item = handoff.Acquire();
      ASSERT_NE(item, nullptr);
      *item = std::to_string(i);
      ASSERT_TRUE(handoff.Publish(std::move(item)));
    }
  });
  for (int i = 0; i < 100; ++i) {
    std::unique_ptr<std::string> item = handoff.Next();
    ASSERT_NE(item, nullptr);
    EXPECT_EQ(*item, std::to_string(i));
    handoff.Release(std::move(item));
  }
  producer.join();
  handoff.WaitForRelease(0);  // everything is back: returns at once
}

TEST(Handoff, CloseWakesBothSidesAndLeftoversStillArrive) {
  Handoff<std::string> handoff(2);
  auto first = handoff.Acquire();
  auto second = handoff.Acquire();
  *second = "left over";
  ASSERT_TRUE(handoff.Publish(std::move(second)));
  std::unique_ptr<std::string> blocked;
  std::thread producer([&] { blocked = handoff.Acquire(); });  // none free: waits
  handoff.Close();
  producer.join();
  EXPECT_EQ(blocked, nullptr);
  EXPECT_FALSE(handoff.Publish(std::move(first)));
  auto left = handoff.Next();
  ASSERT_NE(left, nullptr);
  EXPECT_EQ(*left, "left over");
  EXPECT_EQ(handoff.Next(), nullptr);
}

}  // namespace
}  // namespace citybooks
