// TransactionLogKey / TransactionLogValue <-> TxnRecord (Kafka's TransactionLog).
#include "samsa/broker/txn/transaction_log.h"

#include <map>

#include "samsa/protocol/decode_error.h"
#include "samsa/protocol/gen/transaction_log_key.h"
#include "samsa/protocol/gen/transaction_log_value.h"
#include "samsa/protocol/wire_reader.h"
#include "samsa/protocol/wire_writer.h"

namespace samsa::broker::txn {

namespace {
constexpr int16_t kKeyVersion = 0;
constexpr int16_t kValueVersion = 0;  // 1 only with transactions v2 (KIP-890 part 2)
}  // namespace

std::vector<uint8_t> encode_txn_key(const std::string& transactional_id) {
  protocol::TransactionLogKey k;
  k.transactional_id = transactional_id;
  protocol::WireWriter w;
  w.int16(kKeyVersion);
  k.encode(w, kKeyVersion);
  return w.take();
}

std::vector<uint8_t> encode_txn_value(const TxnRecord& r) {
  protocol::TransactionLogValue v;
  v.producer_id = r.producer_id;
  v.previous_producer_id = r.previous_producer_id;
  v.next_producer_id = r.next_producer_id;
  v.producer_epoch = r.producer_epoch;
  v.transaction_timeout_ms = r.txn_timeout_ms;
  v.transaction_status = static_cast<int8_t>(r.state);
  // Kafka writes no partition list for Empty (the field is null).
  if (r.state == TxnState::kEmpty) {
    v.transaction_partitions = std::nullopt;
  } else {
    std::map<std::string, std::vector<int32_t>> by_topic;
    for (const auto& [topic, p] : r.partitions) by_topic[topic].push_back(p);
    auto& out = v.transaction_partitions.emplace();
    for (auto& [topic, ps] : by_topic) out.push_back({topic, std::move(ps), {}});
  }
  v.transaction_last_update_timestamp_ms = r.txn_last_update_timestamp_ms;
  v.transaction_start_timestamp_ms = r.txn_start_timestamp_ms;
  v.client_transaction_version = r.client_txn_version;
  const int16_t version = r.client_txn_version >= 2 ? 1 : kValueVersion;
  protocol::WireWriter w;
  w.int16(version);
  v.encode(w, version);
  return w.take();
}

std::optional<DecodedTxnRecord> decode_txn_record(std::span<const uint8_t> key,
                                                  std::optional<std::span<const uint8_t>> value) {
  protocol::WireReader kr(key);
  const int16_t key_version = kr.int16();
  if (key_version != kKeyVersion) return std::nullopt;
  protocol::TransactionLogKey k;
  k.decode(kr, key_version);
  DecodedTxnRecord out;
  out.transactional_id = std::move(k.transactional_id);
  if (!value) return out;

  protocol::WireReader vr(*value);
  const int16_t version = vr.int16();
  if (version < protocol::TransactionLogValue::kMinVersion || version > protocol::TransactionLogValue::kMaxVersion)
    throw protocol::DecodeError("unknown TransactionLogValue version " + std::to_string(version));
  protocol::TransactionLogValue v;
  v.decode(vr, version);
  auto state = state_from_id(v.transaction_status);
  if (!state || *state == TxnState::kPrepareEpochFence)
    throw protocol::DecodeError("unknown transaction state " + std::to_string(v.transaction_status));
  TxnRecord r;
  r.producer_id = v.producer_id;
  r.previous_producer_id = v.previous_producer_id;
  r.next_producer_id = v.next_producer_id;
  r.producer_epoch = v.producer_epoch;
  r.txn_timeout_ms = v.transaction_timeout_ms;
  r.state = *state;
  if (v.transaction_partitions)
    for (const auto& t : *v.transaction_partitions)
      for (int32_t p : t.partition_ids) r.partitions.emplace(t.topic, p);
  r.txn_last_update_timestamp_ms = v.transaction_last_update_timestamp_ms;
  r.txn_start_timestamp_ms = v.transaction_start_timestamp_ms;
  r.client_txn_version = v.client_transaction_version;
  out.record = std::move(r);
  return out;
}

}  // namespace samsa::broker::txn
