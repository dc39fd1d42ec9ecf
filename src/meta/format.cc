// VolumeFormat (format.h): validation and the JSON form of the `setting` record.
#include "meta/format.h"

#include <nlohmann/json.hpp>

namespace strata::meta {
namespace {

constexpr uint32_t kMinBlockSize = 64 << 10;
constexpr uint32_t kMaxBlockSize = 16 << 20;

nlohmann::json ToJsonObject(const VolumeFormat& f) {
  return nlohmann::json{{"name", f.name},
                        {"uuid", f.uuid},
                        {"storage", f.storage_url},
                        {"access_key", f.access_key},
                        {"secret_key", f.secret_key},
                        {"block_size", f.block_size},
                        {"compression", f.compression},
                        {"trash_days", f.trash_days},
                        {"capacity_bytes", f.capacity_bytes},
                        {"max_inodes", f.max_inodes},
                        {"format_version", f.format_version}};
}

// Reads an optional field of the expected JSON type; a present field of another type is an
// error (a hand-edited or foreign record), an absent one keeps the default.
template <typename T>
Status Field(const nlohmann::json& j, const char* key, T* out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return Status::OK();
  bool type_ok;
  if constexpr (std::is_same_v<T, std::string>) {
    type_ok = it->is_string();
  } else if constexpr (std::is_unsigned_v<T>) {
    type_ok = it->is_number_unsigned();
  } else {
    type_ok = it->is_number_integer();
  }
  if (!type_ok) return Status::Corruption(std::string("setting field '") + key + "' has a wrong type");
  *out = it->get<T>();
  return Status::OK();
}

}  // namespace

Status VolumeFormat::Validate() const {
  if (name.empty()) return Status::InvalidArgument("volume name is empty");
  if (name.size() > 63) return Status::InvalidArgument("volume name longer than 63 bytes");
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.';
    if (!ok) {
      return Status::InvalidArgument("volume name '" + name +
                                     "' may hold only letters, digits, '-', '_' and '.'");
    }
  }
  if (name == "." || name == "..") return Status::InvalidArgument("volume name may not be . or ..");
  if (storage_url.empty()) return Status::InvalidArgument("storage URL is empty");
  if (block_size < kMinBlockSize || block_size > kMaxBlockSize ||
      (block_size & (block_size - 1)) != 0) {
    return Status::InvalidArgument("block size " + std::to_string(block_size) +
                                   " must be a power of two from 64 KiB to 16 MiB");
  }
  if (compression != "none" && compression != "lz4" && compression != "zstd") {
    return Status::InvalidArgument("compression '" + compression + "' is not none, lz4 or zstd");
  }
  if (trash_days < 0) return Status::InvalidArgument("trash days must not be negative");
  if (format_version < 1 || format_version > kCurrentVersion) {
    return Status::InvalidArgument("format version " + std::to_string(format_version) +
                                   " is not supported by this client (max " +
                                   std::to_string(kCurrentVersion) + ")");
  }
  return Status::OK();
}

std::string VolumeFormat::ToJson() const { return ToJsonObject(*this).dump(); }

std::string VolumeFormat::MaskedJson() const {
  nlohmann::json j = ToJsonObject(*this);
  if (!secret_key.empty()) j["secret_key"] = "****";
  // A password inside the storage URL (https://user:pw@host/bucket) is a secret too.
  auto at = storage_url.find('@');
  auto scheme_end = storage_url.find("://");
  if (at != std::string::npos && scheme_end != std::string::npos && at > scheme_end) {
    auto colon = storage_url.find(':', scheme_end + 3);
    if (colon != std::string::npos && colon < at) {
      j["storage"] = storage_url.substr(0, colon + 1) + "****" + storage_url.substr(at);
    }
  }
  return j.dump(2);
}

Result<VolumeFormat> VolumeFormat::FromJson(const std::string& json) {
  nlohmann::json j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::Corruption("volume settings record is not a JSON object");
  }
  VolumeFormat f;
  f.format_version = 0;  // must be present
  RETURN_IF_ERROR(Field(j, "name", &f.name));
  RETURN_IF_ERROR(Field(j, "uuid", &f.uuid));
  RETURN_IF_ERROR(Field(j, "storage", &f.storage_url));
  RETURN_IF_ERROR(Field(j, "access_key", &f.access_key));
  RETURN_IF_ERROR(Field(j, "secret_key", &f.secret_key));
  RETURN_IF_ERROR(Field(j, "block_size", &f.block_size));
  RETURN_IF_ERROR(Field(j, "compression", &f.compression));
  RETURN_IF_ERROR(Field(j, "trash_days", &f.trash_days));
  RETURN_IF_ERROR(Field(j, "capacity_bytes", &f.capacity_bytes));
  RETURN_IF_ERROR(Field(j, "max_inodes", &f.max_inodes));
  RETURN_IF_ERROR(Field(j, "format_version", &f.format_version));
  if (f.format_version == 0) return Status::Corruption("volume settings have no format_version");
  if (f.format_version > kCurrentVersion) {
    return Status::NotSupported("volume format version " + std::to_string(f.format_version) +
                                " is newer than this client supports (" +
                                std::to_string(kCurrentVersion) + ")");
  }
  return f;
}

}  // namespace strata::meta
