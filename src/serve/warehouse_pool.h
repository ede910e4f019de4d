// Read-only warehouse connections for the server's worker threads. A
// connection (a SQLite handle, a PostgreSQL session) must never be used by
// two threads at once, so each request leases one for its duration; idle
// ones are kept for the next request. Refresh() retires every connection
// opened before it, so schemas a load created since are seen.
//
//   WarehousePool pool([&] { return OpenWarehouse(url, {.read_only = true}); });
//   CB_ASSIGN_OR_RETURN(WarehousePool::Lease lease, pool.Acquire());
//   lease->Query("SELECT 1");
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "common/error.h"
#include "warehouse/warehouse.h"

namespace citybooks {

class WarehousePool {
 public:
  using Opener = std::function<Result<std::unique_ptr<Warehouse>>()>;

  // `open` opens one new read-only connection; it is called from request
  // threads, never while the pool's lock is held.
  explicit WarehousePool(Opener open) : open_(std::move(open)) {}
  WarehousePool(const WarehousePool&) = delete;
  WarehousePool& operator=(const WarehousePool&) = delete;

  // One connection for one thread until destroyed; then back to the pool.
  class Lease {
   public:
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    Warehouse* operator->() const { return warehouse_.get(); }
    Warehouse& operator*() const { return *warehouse_; }
    // The pool generation the connection was opened in.
    uint64_t generation() const { return generation_; }

   private:
    friend class WarehousePool;
    Lease(WarehousePool* pool, std::unique_ptr<Warehouse> warehouse, uint64_t generation)
        : pool_(pool), warehouse_(std::move(warehouse)), generation_(generation) {}
    WarehousePool* pool_;
    std::unique_ptr<Warehouse> warehouse_;
    uint64_t generation_;
  };

  // An idle connection of the current generation, or a newly opened one.
  Result<Lease> Acquire();

  // A new connection outside the pool (to look at the warehouse as it is
  // now without retiring the pooled ones).
  Result<std::unique_ptr<Warehouse>> OpenUnpooled() { return open_(); }

  // Connections opened before this call are closed when next returned
  // instead of being reused.
  void Refresh();
  uint64_t generation() const;

 private:
  void Return(std::unique_ptr<Warehouse> warehouse, uint64_t generation);

  Opener open_;
  mutable std::mutex mutex_;
  uint64_t generation_ = 0;
  std::vector<std::unique_ptr<Warehouse>> idle_;  // all of generation_
};

}  // namespace citybooks
