// Readdir: one page of a directory listing from a name cursor. The page is one range scan of
// the directory's entry keys starting after the cursor (plus one BatchGet of attrs for
// "plus"), so a listing of millions of entries needs memory for one page only, and a cursor
// stays valid while entries come and go around it.
#include "meta/internal.h"
#include "meta/meta.h"
#include "meta/namespace_util.h"
#include "meta/schema.h"

namespace strata::meta {

Result<ReaddirPage> Meta::Readdir(const Context& ctx, Ino dir, const std::string& cursor,
                                  size_t limit, bool plus) {
  constexpr size_t kMaxPage = 100000;
  if (limit == 0) limit = 1024;
  limit = std::min(limit, kMaxPage);
  ReaddirPage page;
  kv::TxnOptions opts;
  opts.read_only = true;
  RETURN_IF_ERROR(kv::RunTxn(
      *engine_,
      [&](kv::Transaction& txn) -> Status {
        page = ReaddirPage{};
        ASSIGN_OR_RETURN(auto raw, txn.Get(schema::AttrKey(dir)));
        ASSIGN_OR_RETURN(Attr d, internal::CheckDir(raw, ctx, 4));
        (void)d;
        const std::string prefix = schema::EntryPrefix(dir);
        std::string begin = prefix;
        if (!cursor.empty()) {
          begin += cursor;
          begin.push_back('\0');  // the smallest key after the cursor's own
        }
        // One more than asked tells whether the listing ends here.
        ASSIGN_OR_RETURN(auto kvs, txn.SnapshotScan(begin, schema::PrefixEnd(prefix), limit + 1));
        page.eof = kvs.size() <= limit;
        if (!page.eof) kvs.pop_back();
        page.entries.reserve(kvs.size());
        for (auto& kv : kvs) {
          DirEntry e;
          Ino parent;
          if (!schema::ParseEntryKey(kv.key, &parent, &e.name)) {
            return Status::Corruption("malformed directory entry key");
          }
          RETURN_IF_ERROR(schema::DecodeEntry(kv.value, &e.type, &e.ino));
          page.entries.push_back(std::move(e));
        }
        if (plus && !page.entries.empty()) {
          std::vector<std::string> keys;
          keys.reserve(page.entries.size());
          for (const auto& e : page.entries) keys.push_back(schema::AttrKey(e.ino));
          ASSIGN_OR_RETURN(auto attrs, txn.BatchGet(keys));
          std::vector<DirEntry> kept;
          kept.reserve(page.entries.size());
          for (size_t i = 0; i < page.entries.size(); i++) {
            // An entry whose inode vanished between scan and read (a concurrent unlink on an
            // engine without snapshots) is left out rather than shown without attributes.
            if (!attrs[i]) continue;
            ASSIGN_OR_RETURN(Attr a, schema::DecodeAttr(*attrs[i]));
            page.entries[i].attr = a;
            kept.push_back(std::move(page.entries[i]));
          }
          if (!kvs.empty()) {
            Ino p;
            std::string last;
            schema::ParseEntryKey(kvs.back().key, &p, &last);
            page.next_cursor = last;
          }
          page.entries = std::move(kept);
          return Status::OK();
        }
        if (!page.entries.empty()) page.next_cursor = page.entries.back().name;
        return Status::OK();
      },
      opts));
  if (page.next_cursor.empty()) page.next_cursor = cursor;
  return page;
}

}  // namespace strata::meta
