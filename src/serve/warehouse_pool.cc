#include "serve/warehouse_pool.h"

namespace citybooks {

WarehousePool::Lease::Lease(Lease&& other) noexcept
    : pool_(other.pool_), warehouse_(std::move(other.warehouse_)), generation_(other.generation_) {
  other.pool_ = nullptr;
}

WarehousePool::Lease::~Lease() {
  if (pool_ != nullptr && warehouse_) pool_->Return(std::move(warehouse_), generation_);
}

Result<WarehousePool::Lease> WarehousePool::Acquire() {
  uint64_t generation;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    generation = generation_;
    if (!idle_.empty()) {
      std::unique_ptr<Warehouse> warehouse = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(warehouse), generation);
    }
  }
  CB_ASSIGN_OR_RETURN(std::unique_ptr<Warehouse> warehouse, open_());
  return Lease(this, std::move(warehouse), generation);
}

void WarehousePool::Refresh() {
  std::vector<std::unique_ptr<Warehouse>> retired;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++generation_;
    retired.swap(idle_);
  }
  // Closed here, outside the lock.
}

uint64_t WarehousePool::generation() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return generation_;
}

void WarehousePool::Return(std::unique_ptr<Warehouse> warehouse, uint64_t generation) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (generation != generation_) {
    lock.unlock();
    warehouse.reset();
    return;
  }
  idle_.push_back(std::move(warehouse));
}

}  // namespace citybooks
