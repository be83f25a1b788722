#pragma once
// Kafka's __transaction_state record format (coordinator/TransactionLogKey
// and TransactionLogValue): key = int16 version 0 + transactional id; value
// = int16 version + the id's TxnRecord; a null value is a tombstone (the id
// expired). Written as Kafka 4.0 writes them without transactions v2
// (value version 0), so Kafka's tools read our files and we read Kafka's
// (value versions 0 and 1).
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "samsa/broker/txn/transaction_metadata.h"

namespace samsa::broker::txn {

inline constexpr const char* kTransactionStateTopic = "__transaction_state";

std::vector<uint8_t> encode_txn_key(const std::string& transactional_id);
// REQUIRES: record.state is not PrepareEpochFence (never written).
std::vector<uint8_t> encode_txn_value(const TxnRecord& record);

struct DecodedTxnRecord {
  std::string transactional_id;
  std::optional<TxnRecord> record;  // nullopt: tombstone
};
// nullopt for a key of another version (not ours to read). Throws
// protocol::DecodeError for malformed bytes or an unknown state id.
std::optional<DecodedTxnRecord> decode_txn_record(std::span<const uint8_t> key,
                                                  std::optional<std::span<const uint8_t>> value);

}  // namespace samsa::broker::txn
