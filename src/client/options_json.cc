#include "client/options_json.h"

#include <nlohmann/json.hpp>

#include "common/uri.h"

namespace strata::client {

namespace {

// A URL with its password masked; an unparsable one is not shown at all (it may hold one).
std::string MaskedUrl(const std::string& url) {
  if (url.empty()) return "";
  auto u = ParseUri(url);
  return u.ok() ? u->Masked() : "****";
}

}  // namespace

std::string OptionsJson(const ClientOptions& o, const std::string& volume,
                        const std::string& storage) {
  nlohmann::ordered_json j;
  j["version"] = 1;
  j["volume"] = volume;
  j["meta_url"] = MaskedUrl(o.meta_url);
  j["storage"] = MaskedUrl(storage);
  j["mount_point"] = o.volume.mount_point;
  j["subdir"] = o.volume.subdir;
  j["read_only"] = o.volume.read_only;
  j["background_jobs"] = o.background_jobs;
  j["io"] = {{"meta_timeout_ms", o.io.meta_timeout.count()},
             {"io_timeout_ms", o.io.io_timeout.count()},
             {"io_retries", o.io.io_retries}};
  j["meta"] = {{"heartbeat_seconds", o.meta.heartbeat_seconds},
               {"session_expiry_seconds", o.meta.session_expiry_seconds},
               {"id_batch", o.meta.id_batch}};
  j["writer"] = {{"buffer_size", o.writer.buffer_size},
                 {"max_uploads", o.writer.max_uploads},
                 {"freeze_after_ms", o.writer.freeze_after_ms},
                 {"idle_ms", o.writer.idle_ms},
                 {"compact_every", o.writer.compact_every},
                 {"compact_sync_slices", o.writer.compact_sync_slices},
                 {"max_unsynced_blocks", o.writer.max_unsynced_blocks}};
  j["reader"] = {{"max_downloads", o.reader.max_downloads},
                 {"readahead_max", o.reader.readahead_max},
                 {"readahead_total", o.reader.readahead_total},
                 {"local_readahead_max", o.reader.local_readahead_max},
                 {"local_readahead_after", o.reader.local_readahead_after},
                 {"segment_cache_chunks", o.reader.segment_cache_chunks},
                 {"compact_segments", o.reader.compact_segments}};
  j["cache"] = {{"memory_size", o.cache.memory_size},
                {"cache_dir", o.cache.cache_dir},
                {"cache_size", o.cache.cache_size},
                {"free_space_ratio", o.cache.free_space_ratio}};
  j["log"] = {{"file", o.log.file}, {"level", std::string(logging::LevelName(o.log.level))}};
  return j.dump(2) + "\n";
}

}  // namespace strata::client
