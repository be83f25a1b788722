#pragma once
// The records that rebuild an image from nothing: what a metadata snapshot
// holds. Applying them to an empty image (plus the static parts: cluster id
// and voters) gives back an equal image.
#include <vector>

#include "samsa/broker/metadata/records.h"
#include "samsa/broker/metadata_image.h"

namespace samsa::broker::metadata {

std::vector<RecordAndVersion> image_to_records(const MetadataImage& image);

}  // namespace samsa::broker::metadata
