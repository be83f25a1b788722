#pragma once
// Control records (Kafka's ControlRecordType / EndTransactionMarker): the one
// record of a control batch. Its key is {version int16 = 0, type int16}; an
// end-of-transaction marker (type ABORT = 0, COMMIT = 1) has the value
// {version int16 = 0, coordinator_epoch int32}. Transaction coordinators
// write them through WriteTxnMarkers; partitions, consumers, the cleaner and
// the coordinators' loaders read them.
#include <cstdint>
#include <optional>
#include <vector>

#include "samsa/protocol/record_batch.h"

namespace samsa::protocol {

enum class ControlRecordType : int16_t {
  kAbort = 0,
  kCommit = 1,
  kLeaderChange = 2,  // KRaft's LeaderChangeMessage, never in a partition log
  kUnknown = -1,
};

struct EndTxnMarker {
  bool commit = false;
  int32_t coordinator_epoch = -1;
  bool operator==(const EndTxnMarker&) const = default;
};

// The type in a control record's key; kUnknown for a key too short or of
// an unknown version (Kafka skips those).
ControlRecordType control_record_type(std::span<const uint8_t> key);

// The marker of a control batch (whole batch, uncompressed, one record);
// nullopt when it is not an ABORT/COMMIT marker. Throws DecodeError for a
// malformed record.
std::optional<EndTxnMarker> parse_end_txn_marker(const BatchView& batch);

// One control batch holding the marker: transactional and control bits set,
// the producer's id and epoch, base sequence -1, offset 0 (the leader
// assigns it), timestamp `timestamp_ms`.
std::vector<uint8_t> build_end_txn_marker(int64_t producer_id, int16_t producer_epoch, const EndTxnMarker& marker,
                                          int64_t timestamp_ms);

}  // namespace samsa::protocol
