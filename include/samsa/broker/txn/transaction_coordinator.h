#pragma once
// The transaction coordinator (Kafka's TransactionCoordinator, transactions
// v1 and v2): InitProducerId with a transactional id, AddPartitionsToTxn (and its
// KIP-890 verify_only form), AddOffsetsToTxn, EndTxn, the abort of
// transactions past their timeout, the expiry of idle transactional ids,
// and the admin views (DescribeTransactions, ListTransactions).
//
// Every transition is written to __transaction_state (acks=-1) before it is
// answered or applied. EndTxn answers once PrepareCommit / PrepareAbort is
// durable; the markers then go out through the TxnMarkerSender and
// CompleteCommit / CompleteAbort is written when every partition has one.
// Transactions v2 (KIP-890 part 2) differ in two ways: partition leaders add
// partitions for the producer (add_partitions with client_txn_version 2),
// and every EndTxn bumps the producer epoch, so a write of the ended
// transaction that arrives late is fenced by its epoch.
//
// Threading: every call from any thread, never blocking on a write (but
// init_producer_id may wait for a producer id block: call it off the
// network threads, as InitProducerId runs on the controller thread).
// Callbacks run once, on any thread, with no coordinator lock held.
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "samsa/broker/txn/transaction_metadata.h"
#include "samsa/broker/txn/transaction_state_manager.h"
#include "samsa/broker/txn/txn_log_store.h"
#include "samsa/broker/txn/txn_marker_sender.h"
#include "samsa/protocol/error_code.h"

namespace samsa::broker {
class MetadataImage;
}

namespace samsa::broker::txn {

struct TxnCoordinatorConfig {
  int32_t node_id = -1;                                  // this broker: leaders of __transaction_state partitions
  int32_t num_partitions = 50;                           // transaction.state.log.num.partitions
  int32_t offsets_partitions = 50;                       // offsets.topic.num.partitions (AddOffsetsToTxn)
  int32_t max_timeout_ms = 900000;                       // transaction.max.timeout.ms
  int64_t abort_timed_out_interval_ms = 10000;           // transaction.abort.timed.out.transaction.cleanup.interval.ms
  int64_t id_expiration_ms = 604800000;                  // transactional.id.expiration.ms
  int64_t remove_expired_interval_ms = 3600000;          // transaction.remove.expired.transaction.cleanup.interval.ms
  int64_t retry_backoff_ms = 100;                        // between retries of a failed Complete write
};

struct TxnCoordinatorDeps {
  TxnLogStore* store = nullptr;
  // The marker writer (services.txn_markers); read at each use, may be null
  // until it is wired (markers then wait and retry).
  std::function<TxnMarkerSender*()> markers;
  // A fresh producer id (ProducerIdManager::generate); error != NONE if none.
  std::function<std::pair<protocol::ErrorCode, int64_t>()> new_producer_id;
  std::function<int64_t()> now_ms;
  // Runs fn after delay_ms on some thread (the broker's Scheduler).
  std::function<void(int64_t delay_ms, std::function<void()> fn)> schedule;
};

struct InitPidResult {
  protocol::ErrorCode error = protocol::ErrorCode::NONE;
  int64_t producer_id = kNoProducerId;
  int16_t producer_epoch = kNoProducerEpoch;
};

// EndTxn's answer: v5+ (transactions v2) also carries the producer id and
// epoch the client goes on with (bumped, or a new id when the epochs ran out).
struct EndTxnResult {
  protocol::ErrorCode error = protocol::ErrorCode::NONE;
  int64_t producer_id = kNoProducerId;
  int16_t producer_epoch = kNoProducerEpoch;
};

// transaction.version levels (Kafka's TransactionVersion): 2 bumps the
// epoch at every EndTxn and adds partitions implicitly (KIP-890 part 2).
inline constexpr int16_t kTxnVersion2 = 2;

struct TxnDescription {
  protocol::ErrorCode error = protocol::ErrorCode::NONE;
  std::string transactional_id;
  std::string state;
  int32_t timeout_ms = 0;
  int64_t start_time_ms = -1;
  int64_t producer_id = kNoProducerId;
  int16_t producer_epoch = kNoProducerEpoch;
  std::set<TopicPartition> partitions;
};

struct TxnListing {
  std::string transactional_id;
  int64_t producer_id = kNoProducerId;
  std::string state;
};
struct TxnListResult {
  protocol::ErrorCode error = protocol::ErrorCode::NONE;
  std::vector<std::string> unknown_state_filters;
  std::vector<TxnListing> transactions;
};

class TransactionCoordinator {
 public:
  using ErrorCallback = std::function<void(protocol::ErrorCode)>;

  TransactionCoordinator(TxnCoordinatorConfig config, TxnCoordinatorDeps deps);
  ~TransactionCoordinator();

  // Follows the image: loads the __transaction_state partitions led here.
  void on_image(const MetadataImage& image);
  // The leadership as a map (partition -> leader epoch), for tests.
  void set_leadership(const std::map<int32_t, int32_t>& led) { state_.set_leadership(led); }
  void await_loads() { state_.await_loads(); }
  int32_t partition_for(const std::string& transactional_id) const { return state_.partition_for(transactional_id); }
  const TxnCoordinatorConfig& config() const { return config_; }
  // One CreateTopics for __transaction_state to a remote controller at a
  // time (transaction_topic.h).
  const std::shared_ptr<std::atomic<bool>> topic_request_in_flight = std::make_shared<std::atomic<bool>>(false);

  // expected_*: KIP-360 (InitProducerId v3+), -1 when not given.
  void init_producer_id(const std::string& transactional_id, int32_t timeout_ms, int64_t expected_producer_id,
                        int16_t expected_epoch, std::function<void(InitPidResult)> done);
  // client_txn_version 2: the implicit add of a transactions v2 write (a
  // partition leader's AddPartitionsToTxn v4+ without verify_only).
  void add_partitions(const std::string& transactional_id, int64_t producer_id, int16_t producer_epoch,
                      const std::vector<TopicPartition>& partitions, ErrorCallback done,
                      int16_t client_txn_version = 0);
  // AddPartitionsToTxn v4+ verify_only: the transaction's error
  // (CONCURRENT_TRANSACTIONS while its markers go out), else one per
  // partition (NONE: in the ongoing transaction; INVALID_TXN_STATE: not).
  protocol::ErrorCode verify_partitions(const std::string& transactional_id, int64_t producer_id,
                                        int16_t producer_epoch, const std::vector<TopicPartition>& partitions,
                                        std::vector<protocol::ErrorCode>& out);
  void add_offsets(const std::string& transactional_id, int64_t producer_id, int16_t producer_epoch,
                   const std::string& group_id, ErrorCallback done);
  // EndTxn. client_txn_version 2 (EndTxn v5+): the end bumps the epoch
  // (a new producer id after the last epoch), a retry of an end that
  // already bumped is recognised by its older epoch, and an abort with no
  // transaction open only bumps the epoch.
  void end_txn(const std::string& transactional_id, int64_t producer_id, int16_t producer_epoch, bool commit,
               int16_t client_txn_version, std::function<void(EndTxnResult)> done);
  void end_txn(const std::string& transactional_id, int64_t producer_id, int16_t producer_epoch, bool commit,
               ErrorCallback done) {
    end_txn(transactional_id, producer_id, producer_epoch, commit, 0,
            [done = std::move(done)](EndTxnResult r) { done(r.error); });
  }

  TxnDescription describe(const std::string& transactional_id);
  TxnListResult list(const std::vector<std::string>& states, const std::vector<int64_t>& producer_ids,
                     int64_t duration_filter_ms);

  // The periodic checks (timeouts every abort_timed_out_interval_ms, id
  // expiry every remove_expired_interval_ms), each due one run when called.
  void abort_timed_out_transactions();
  void remove_expired_ids();

 private:
  struct Prepared {
    std::string transactional_id;
    int32_t coordinator_epoch = -1;
    int32_t partition = -1;
    TxnRecord target;
  };
  // Writes the prepared transition, then sends its markers (PrepareX) and
  // calls done(error of the write).
  void write_then_markers(Prepared p, ErrorCallback done);
  void send_markers(Prepared p);
  // end_txn with a producer id fetched beforehand (for a v2 end at the last epoch).
  void end_txn_with(const std::string& transactional_id, int64_t producer_id, int16_t producer_epoch, bool commit,
                    int16_t client_txn_version, int64_t fresh_producer_id, int attempt,
                    std::function<void(EndTxnResult)> done);
  void complete_txn(std::string transactional_id, int64_t producer_id, int16_t producer_epoch,
                    int32_t coordinator_epoch);
  void resend_markers(int32_t partition, int32_t coordinator_epoch);
  void later(std::function<void()> fn);
  int64_t now() const { return deps_.now_ms(); }

  TxnCoordinatorConfig config_;
  TxnCoordinatorDeps deps_;
  TransactionStateManager state_;
};

}  // namespace samsa::broker::txn
