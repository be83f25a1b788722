#pragma once
// The __transaction_state partitions this broker leads and the transactional
// ids in them (Kafka's TransactionStateManager). An id lives in partition
// partition_for(id); becoming leader of a partition replays it on the loader
// thread (COORDINATOR_LOAD_IN_PROGRESS meanwhile), losing it drops its ids
// (NOT_COORDINATOR). The coordinator epoch of a partition is its leader
// epoch at load time; a new leader epoch reloads it.
//
// Threading: one lock (mu()) guards the partitions and every id's metadata;
// the coordinator takes it for its checks and never holds it across a write
// or a callback. write() takes it itself when the append completes.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "samsa/broker/group/load_executor.h"
#include "samsa/broker/txn/transaction_metadata.h"
#include "samsa/broker/txn/txn_log_store.h"
#include "samsa/protocol/error_code.h"

namespace samsa::broker::txn {

class TransactionStateManager {
 public:
  TransactionStateManager(TxnLogStore& store, int32_t num_partitions);
  ~TransactionStateManager();

  int32_t num_partitions() const { return num_partitions_; }
  int32_t partition_for(const std::string& transactional_id) const;

  // The partitions led here now (partition -> leader epoch). Loads the new
  // ones (and those with a new epoch), drops the others.
  void set_leadership(const std::map<int32_t, int32_t>& led);
  // Blocks until the loads queued so far have run.
  void await_loads() { loader_.drain(); }
  // A partition finished loading (no lock held): the coordinator resends
  // the markers of its PrepareCommit / PrepareAbort transactions.
  std::function<void(int32_t partition, int32_t coordinator_epoch)> on_loaded;
  // A partition was dropped (the coordinator abandons its marker jobs).
  std::function<void(int32_t partition)> on_unloaded;

  std::mutex& mu() const { return mu_; }

  // --- REQUIRES: mu() held ---
  // NONE (with the id's metadata, null if the id is unknown), else
  // NOT_COORDINATOR or COORDINATOR_LOAD_IN_PROGRESS.
  struct Lookup {
    protocol::ErrorCode error = protocol::ErrorCode::NONE;
    TransactionMetadata* metadata = nullptr;
    int32_t partition = -1;
    int32_t coordinator_epoch = -1;
  };
  Lookup lookup(const std::string& transactional_id) const;
  // Adds a new id's metadata (not written: its first transition writes it).
  TransactionMetadata* insert(const std::string& transactional_id, TxnRecord record);
  void erase(const std::string& transactional_id);
  // Every loaded id; fn(metadata, partition, coordinator epoch).
  void for_each(const std::function<void(TransactionMetadata&, int32_t, int32_t)>& fn);
  // Whether the partition is still loaded with this coordinator epoch.
  bool still_coordinating(int32_t partition, int32_t coordinator_epoch) const;
  // Whether a partition led here is still loading.
  bool any_loading() const;

  // --- without mu() held ---
  // Writes `metadata.pending()` of `transactional_id` (prepared under the
  // lock by the caller, who released it since) and then, under the lock,
  // completes the transition (or drops it on error); then calls
  // done(error) with no lock held. NOT_COORDINATOR if the partition was
  // dropped or reloaded meanwhile.
  void write(const std::string& transactional_id, int32_t coordinator_epoch, const TxnRecord& target,
             int64_t timestamp_ms, std::function<void(protocol::ErrorCode)> done);

 private:
  struct Partition {
    bool loaded = false;
    int32_t coordinator_epoch = -1;
    uint64_t load_id = 0;
  };
  void load(int32_t partition, int32_t coordinator_epoch, uint64_t load_id);

  TxnLogStore& store_;
  const int32_t num_partitions_;
  mutable std::mutex mu_;
  std::map<int32_t, Partition> partitions_;
  std::map<std::string, std::unique_ptr<TransactionMetadata>> ids_;
  uint64_t next_load_id_ = 0;
  group::LoadExecutor loader_;  // last: destroyed first
};

}  // namespace samsa::broker::txn
