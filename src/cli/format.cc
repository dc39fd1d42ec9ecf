// strata format META_URL NAME --storage URL [...]: writes a volume's settings record into the
// metadata engine and its NAME/strata.uuid object into the store (DESIGN.md §3). Checks come
// first (flags, the store's uuid object, engine, existing settings) so that bad input writes
// nothing; then the metadata, then the uuid object (a re-run after a failed upload keeps the
// uuid, so it completes the same volume).
#include <sys/stat.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <random>
#include <string>

#include "cli/commands.h"
#include "cli/meta_open.h"
#include "common/uri.h"
#include "meta/meta.h"
#include "object/registry.h"

namespace strata::cli {
namespace {

struct FormatArgs {
  std::string meta_url, name, storage, block_size = "4M", compress = "none";
  std::string access_key, secret_key;
  int trash_days = 1;
  uint64_t capacity_gib = 0, inodes = 0;
  bool force = false;
};

// "4M", "4MiB", "512K", "65536" -> bytes.
Result<uint32_t> ParseSize(const std::string& s) {
  size_t pos = 0;
  unsigned long long v = 0;
  try {
    v = std::stoull(s, &pos);
  } catch (...) {
    return Status::InvalidArgument("bad block size '" + s + "'");
  }
  std::string unit = s.substr(pos);
  uint64_t mult = 1;
  if (unit == "K" || unit == "k" || unit == "KiB") {
    mult = 1 << 10;
  } else if (unit == "M" || unit == "m" || unit == "MiB") {
    mult = 1 << 20;
  } else if (!unit.empty()) {
    return Status::InvalidArgument("bad block size unit in '" + s + "' (use K or M)");
  }
  if (v * mult > (1ULL << 31)) return Status::InvalidArgument("block size '" + s + "' too large");
  return static_cast<uint32_t>(v * mult);
}

std::string NewUuid() {
  std::random_device rd;
  std::string s;
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = 0; i < 16; i++) {
    uint8_t b = static_cast<uint8_t>(rd());
    if (i == 6) b = (b & 0x0f) | 0x40;
    if (i == 8) b = (b & 0x3f) | 0x80;
    if (i == 4 || i == 6 || i == 8 || i == 10) s.push_back('-');
    s.push_back(kHex[b >> 4]);
    s.push_back(kHex[b & 15]);
  }
  return s;
}

// True for a file:// URL whose directory does not exist: that store certainly holds no volume,
// and opening it would create the directory.
bool FileStoreDirMissing(const std::string& url) {
  auto uri = ParseUri(url);
  if (!uri.ok() || uri->scheme != "file" || uri->path.empty()) return false;
  struct stat st;
  return ::stat(uri->path.c_str(), &st) != 0 && errno == ENOENT;
}

void RunFormat(const client::Registries& registries, const FormatArgs& a) {
  meta::VolumeFormat f;
  f.name = a.name;
  f.storage_url = a.storage;
  f.access_key = a.access_key;
  f.secret_key = a.secret_key;
  f.compression = a.compress;
  f.trash_days = a.trash_days;
  if (a.capacity_gib > (UINT64_MAX >> 30)) {
    return Fail("format", Status::InvalidArgument("--capacity " + std::to_string(a.capacity_gib) +
                                                  " GiB is more than 16 EiB"));
  }
  f.capacity_bytes = a.capacity_gib << 30;
  f.max_inodes = a.inodes;
  auto bs = ParseSize(a.block_size);
  if (!bs.ok()) return Fail("format", bs.status());
  f.block_size = *bs;
  if (Status s = f.Validate(); !s.ok()) return Fail("format", s);

  if (Status s = CheckMetaUrl(registries, a.meta_url); !s.ok()) return Fail("format", s);

  // The store first: reading its uuid object writes nothing, while opening the engine may
  // (an sqlite3:// database file is created, a redis:// database gets its layout marker).
  // One exception: opening a file:// store whose directory does not exist would create the
  // directory; such a store holds no volume, so it is opened only after the engine checks.
  const object::StoreRegistry& stores = registries.stores;
  object::StoreOptions sopts;
  sopts.access_key = a.access_key;
  sopts.secret_key = a.secret_key;
  std::shared_ptr<object::ObjectStore> store;
  auto open_store = [&]() -> Status {
    auto opened = stores.Open(a.storage, sopts);
    if (!opened.ok()) return opened.status().WithContext("storage");
    store = std::move(*opened);
    return Status::OK();
  };
  const std::string uuid_key = f.name + "/strata.uuid";
  std::optional<std::string> store_uuid;
  if (!FileStoreDirMissing(a.storage)) {
    if (Status s = open_store(); !s.ok()) return Fail("format", s);
    // A listing, not a Get: S3 answers a Get in a missing bucket with "not found" too, which
    // would pass for "no volume here" and fail only after the metadata was written.
    object::ListOptions lo;
    lo.prefix = uuid_key;
    lo.limit = 1;
    auto listed = store->List(lo);
    if (!listed.ok()) return Fail("format: storage", listed.status());
    if (!listed->objects.empty() && listed->objects.front().key == uuid_key) {
      auto existing = store->Get(uuid_key);
      if (!existing.ok()) return Fail("format: storage", existing.status());
      store_uuid = *existing;
    }
  }
  auto held_by_other = [&] {
    return Fail("format", Status::AlreadyExists("storage prefix '" + f.name +
                                                "/' already holds volume " + *store_uuid));
  };
  if (store_uuid && MetaDatabaseMissing(a.meta_url)) return held_by_other();

  auto engine = OpenMetaEngine(registries, a.meta_url);
  if (!engine.ok()) return Fail("format", engine.status());
  auto old = meta::Meta::LoadFormat(**engine);
  if (old.ok()) {
    if (!a.force && (old->name != f.name || old->block_size != f.block_size ||
                     old->compression != f.compression)) {
      return Fail("format", Status::AlreadyExists(
                                "the engine already holds volume '" + old->name + "' (block size " +
                                std::to_string(old->block_size) + ", compression " +
                                old->compression + "); use --force to change it"));
    }
    f.uuid = old->uuid;
  } else if (old.code() == Code::kNotFound) {
    f.uuid = NewUuid();
  } else {
    return Fail("format", old.status());
  }
  if (store_uuid && *store_uuid != f.uuid) return held_by_other();
  if (!store) {
    if (Status s = open_store(); !s.ok()) return Fail("format", s);
  }

  if (Status s = meta::Meta::Format(**engine, f, a.force); !s.ok()) return Fail("format", s);
  if (Status s = store->Put(uuid_key, f.uuid); !s.ok()) {
    return Fail("format: writing " + uuid_key, s);
  }
  std::printf("formatted volume %s (uuid %s) on %s, data in %s\n", f.name.c_str(), f.uuid.c_str(),
              (*engine)->Describe().c_str(), store->Describe().c_str());
  auto durability = (*engine)->GetDurability();
  if (durability.ok() && !durability->survives_restart) {
    std::fprintf(stderr, "strata: warning: %s\n", durability->detail.c_str());
  }
}

}  // namespace

void RegisterFormat(CLI::App& app, const client::Registries& registries) {
  auto a = std::make_shared<FormatArgs>();
  CLI::App* cmd = app.add_subcommand("format", "Create (or update) a volume");
  cmd->add_option("META_URL", a->meta_url, "Metadata engine URL")
      ->transform(MetaUrlFromEnv())->required();
  cmd->add_option("NAME", a->name, "Volume name (also the object key prefix)")->required();
  cmd->add_option("--storage", a->storage, "Object store URL (file://, s3://, https://, mem://)")
      ->required();
  cmd->add_option("--block-size", a->block_size, "Block size, 64K..16M (default 4M)");
  cmd->add_option("--compress", a->compress, "none | lz4 | zstd (default none)");
  cmd->add_option("--trash-days", a->trash_days, "Days unlinked files stay in .trash (0: off)");
  cmd->add_option("--capacity", a->capacity_gib, "Volume capacity in GiB (0: unlimited)");
  cmd->add_option("--inodes", a->inodes, "Maximum number of inodes (0: unlimited)");
  cmd->add_option("--access-key", a->access_key, "Object store access key");
  cmd->add_option("--secret-key", a->secret_key, "Object store secret key");
  cmd->add_flag("--force", a->force, "Allow a different name, block size or compression");
  cmd->callback([a, reg = &registries] { RunFormat(*reg, *a); });
}

}  // namespace strata::cli
