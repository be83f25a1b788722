#pragma once
// A KRaft snapshot file: a control batch holding a SnapshotHeaderRecord,
// batches of metadata records (framed as in the log), and a control batch
// holding a SnapshotFooterRecord. Used for `bootstrap.checkpoint` and for
// `<end offset:020>-<epoch:010>.checkpoint` snapshots of __cluster_metadata.
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include <optional>

#include "samsa/protocol/record_batch.h"
#include "samsa/raft/consensus/voter_set.h"

namespace samsa::raft {

// Writes atomically. `values` are framed metadata records; batches hold at
// most `records_per_batch` each. Throws std::system_error on I/O failure.
void write_snapshot_file(const std::string& path, const std::vector<std::vector<uint8_t>>& values, int32_t epoch,
                         size_t records_per_batch = 1000);

// The bytes write_snapshot_file writes (for a snapshot sent by FetchSnapshot
// or stored through the Raft log's snapshot store).
// `voters` (KIP-853, kraft.version 1): the voter set in force at the
// snapshot's offset, written as Kafka does: a KRaftVersionRecord and a
// VotersRecord control batch right after the SnapshotHeader.
std::vector<uint8_t> encode_snapshot(const std::vector<std::vector<uint8_t>>& values, int32_t epoch,
                                     size_t records_per_batch = 1000,
                                     const std::optional<std::vector<Voter>>& voters = std::nullopt);
// The voter set a snapshot's VotersRecord names; nullopt if it has none or
// the bytes do not decode.
std::optional<std::vector<Voter>> snapshot_voters(std::span<const uint8_t> data);
// decode_snapshot is read_snapshot_file over bytes: throws
// protocol::DecodeError when they are not a complete, valid snapshot.
void decode_snapshot(std::span<const uint8_t> data, const std::function<void(const protocol::BatchView&)>& on_batch);

// Calls `on_batch` for every data batch (control batches are checked and
// skipped). Throws std::runtime_error naming the file if it is corrupt.
void read_snapshot_file(const std::string& path, const std::function<void(const protocol::BatchView&)>& on_batch);

}  // namespace samsa::raft
