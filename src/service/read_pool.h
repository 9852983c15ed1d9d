#pragma once
// Connections for reads (Sql.Execute with read_only, Download.ReadTable) on the active
// target, kept between calls. A lease returns its backend to the pool when it ends,
// unless the call found the connection broken.
//
// Thread safety: safe from any thread; a lease is used by one thread.

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "config/config.h"
#include "store/backend.h"

namespace sluice::service {

class ReadPool {
 public:
  explicit ReadPool(const config::Config* config) : config_(config) {}

  class Lease {
   public:
    Lease(ReadPool* pool, std::string target, std::unique_ptr<store::Backend> backend)
        : pool_(pool), target_(std::move(target)), backend_(std::move(backend)) {}
    Lease(Lease&&) = default;
    ~Lease();
    store::Backend* operator->() { return backend_.get(); }
    store::Backend& operator*() { return *backend_; }
    // The connection failed: do not reuse it.
    void Discard() { broken_ = true; }

   private:
    ReadPool* pool_;
    std::string target_;
    std::unique_ptr<store::Backend> backend_;
    bool broken_ = false;
  };

  // A connected backend of `target`.
  Result<Lease> Acquire(const std::string& target);

 private:
  void Release(const std::string& target, std::unique_ptr<store::Backend> backend);

  const config::Config* config_;
  std::mutex mu_;
  std::map<std::string, std::vector<std::unique_ptr<store::Backend>>> idle_;  // guarded by mu_
};

}  // namespace sluice::service
