#include "store/projects.hpp"

#include "core/error.hpp"

namespace tb::store {
namespace {

Project project_from(const db::Result& r, int row) {
  return Project{r.text(row, 0), r.text(row, 1), r.text(row, 2), r.time(row, 3)};
}

}  // namespace

std::optional<Project> get_project(db::Connection& conn, const std::string& id) {
  auto r =
      conn.query("SELECT id, slug, name, created_at FROM control_plane.projects WHERE id = $1", id);
  if (r.empty()) return std::nullopt;
  return project_from(r, 0);
}

Project upsert_project(db::Connection& conn, const std::string& id, const std::string& slug,
                       const std::string& name) {
  if (slug.find("__pre_restore") != std::string::npos) {
    throw Error(
        ErrorCode::kValidation,
        "a project's slug must not contain '__pre_restore': that is how a restore names the "
        "schema it sets aside, and those are dropped after RESTORE_KEEP_DAYS",
        {}, "slug");
  }
  auto r = conn.query(
      "INSERT INTO control_plane.projects (id, slug, name) VALUES ($1, $2, $3) "
      "ON CONFLICT (id) DO UPDATE SET slug = EXCLUDED.slug, name = EXCLUDED.name "
      "RETURNING id, slug, name, created_at",
      id, slug, name);
  return project_from(r, 0);
}

std::vector<Project> list_projects(db::Connection& conn) {
  auto r = conn.exec("SELECT id, slug, name, created_at FROM control_plane.projects ORDER BY id");
  return r.map_rows(project_from);
}

}  // namespace tb::store
