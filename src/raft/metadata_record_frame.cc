#include "samsa/raft/metadata_record_frame.h"

#include <string>

namespace samsa::raft {

MetadataRecordHeader read_metadata_record_header(protocol::WireReader& in) {
  uint32_t frame_version = in.uvarint();
  if (frame_version != kMetadataFrameVersion)
    throw protocol::DecodeError("unknown metadata record frame version " + std::to_string(frame_version));
  MetadataRecordHeader h;
  h.type = static_cast<int16_t>(in.uvarint());
  h.version = static_cast<int16_t>(in.uvarint());
  return h;
}

}  // namespace samsa::raft
