#pragma once
// How the transaction coordinator reaches __transaction_state: append one
// id's record (acks=-1, as the partition leader) and replay a partition on
// load. An interface so the coordinator's tests run without partitions.
//
// Threading: append() from any thread, never blocks; `done` runs once, on
// any thread (maybe before append returns), with no coordinator lock held
// by the store. load() reads files: the coordinator's loader thread only.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "samsa/broker/txn/transaction_log.h"
#include "samsa/protocol/error_code.h"

namespace samsa::broker {
struct BrokerServices;
}

namespace samsa::broker::txn {

class TxnLogStore {
 public:
  virtual ~TxnLogStore() = default;
  // nullopt record: a tombstone. `done` gets NONE once the ISR has it, else
  // the code a coordinator answers with: NOT_COORDINATOR (not the leader any
  // more), COORDINATOR_NOT_AVAILABLE (ISR too small, timed out: retriable).
  virtual void append(int32_t partition, const std::string& transactional_id, const std::optional<TxnRecord>& record,
                      int64_t timestamp_ms, std::function<void(protocol::ErrorCode)> done) = 0;
  // Replays the partition up to its log end in offset order; throws
  // std::runtime_error if it is not hosted or cannot be read.
  virtual void load(int32_t partition, const std::function<void(DecodedTxnRecord&&)>& apply) = 0;
};

// The real one: ReplicaManager::append_records with acks=-1 and origin
// kCoordinator; load reads the local replica.
class ReplicatedTxnLogStore : public TxnLogStore {
 public:
  ReplicatedTxnLogStore(BrokerServices& services, int32_t write_timeout_ms, int32_t load_buffer_size)
      : services_(services), write_timeout_ms_(write_timeout_ms), load_buffer_size_(load_buffer_size) {}
  void append(int32_t partition, const std::string& transactional_id, const std::optional<TxnRecord>& record,
              int64_t timestamp_ms, std::function<void(protocol::ErrorCode)> done) override;
  void load(int32_t partition, const std::function<void(DecodedTxnRecord&&)>& apply) override;

 private:
  BrokerServices& services_;
  int32_t write_timeout_ms_;
  int32_t load_buffer_size_;
};

}  // namespace samsa::broker::txn
