// Summarize (summary.h): a breadth-first walk over directories, then totals bottom-up.
#include "meta/summary.h"

namespace strata::meta {

Result<std::vector<SummaryRow>> Summarize(Meta& meta, Ino dir, const std::string& path,
                                          int depth) {
  struct Node {
    Ino ino;
    size_t parent;  // index; SIZE_MAX for the top
    int depth;
    std::string path;  // only for rows that are printed
    SummaryRow total;
  };
  std::vector<Node> nodes;
  nodes.push_back({dir, SIZE_MAX, 0, path, {}});
  const Context root;
  for (size_t i = 0; i < nodes.size(); i++) {
    ASSIGN_OR_RETURN(DirUsage u, meta.GetDirUsage(nodes[i].ino));
    nodes[i].total.bytes = u.bytes;
    nodes[i].total.inodes = u.inodes;
    std::string cursor;
    for (;;) {
      ASSIGN_OR_RETURN(ReaddirPage page, meta.Readdir(root, nodes[i].ino, cursor, 1000, false));
      for (const auto& e : page.entries) {
        if (e.type != FileType::kDirectory) continue;
        const int d = nodes[i].depth + 1;
        std::string p;
        if (d <= depth) p = (nodes[i].path == "/" ? "" : nodes[i].path) + "/" + e.name;
        nodes.push_back({e.ino, i, d, std::move(p), {}});
      }
      if (page.eof || page.entries.empty()) break;
      cursor = page.next_cursor;
    }
  }
  // Children come after their parents: add each into its parent from the end.
  for (size_t i = nodes.size(); i-- > 1;) {
    SummaryRow& p = nodes[nodes[i].parent].total;
    p.bytes += nodes[i].total.bytes;
    p.inodes += nodes[i].total.inodes;
    p.dirs += nodes[i].total.dirs + 1;
  }
  std::vector<SummaryRow> rows;
  for (Node& n : nodes) {
    if (n.depth > depth) continue;
    SummaryRow r = n.total;
    r.path = std::move(n.path);
    r.ino = n.ino;
    r.depth = n.depth;
    rows.push_back(std::move(r));
  }
  return rows;
}

}  // namespace strata::meta
