// JSON shapes of FAS people, groups and roles, with the filter_private() visibility rules.
#include "fas_internal.hpp"

#include <boost/json/array.hpp>
#include <boost/json/string.hpp>

#include <array>

namespace fedora::emulator::fas_detail {

namespace json = boost::json;

namespace {

json::value str(std::string_view s, const storage_ptr& sp)
{
    return json::value(json::string_view(s.data(), s.size()), sp);
}

json::value opt_str(const std::optional<std::string>& s, const storage_ptr& sp)
{
    return s ? str(*s, sp) : json::value(nullptr, sp);
}

json::value time_value(fas_time t, const storage_ptr& sp)
{
    return str(format_fas_time(t), sp);
}

json::value opt_time(const std::optional<fas_time>& t, const storage_ptr& sp)
{
    return t ? time_value(*t, sp) : json::value(nullptr, sp);
}

json::value opt_int(const std::optional<std::int64_t>& v, const storage_ptr& sp)
{
    return v ? json::value(*v, sp) : json::value(nullptr, sp);
}

json::value opt_double(const std::optional<double>& v, const storage_ptr& sp)
{
    return v ? json::value(*v, sp) : json::value(nullptr, sp);
}

enum class pf : std::uint8_t {
    id, username, human_name, gpg_keyid, ssh_key, password, password_changed, email,
    unverified_email, comments, postal_address, telephone, facsimile, affiliation,
    certificate_serial, creation, ircnick, last_seen, status, status_change, locale, timezone,
    latitude, longitude, country_code, privacy, old_password, security_question,
    security_answer, passwordtoken, emailtoken, internal_comments, alias_enabled,
    ipa_sync_status,
};

struct field_info
{
    std::string_view name;
    pf field;
    view_level min_level; // lowest level that sees it (People.allow_fields)
};

// People.allow_fields['complete'] in FAS's order, with the lowest level allowed to see each.
constexpr std::array<field_info, 34> person_fields = {{
    {"id", pf::id, view_level::anonymous},
    {"username", pf::username, view_level::anonymous},
    {"human_name", pf::human_name, view_level::pub},
    {"gpg_keyid", pf::gpg_keyid, view_level::pub},
    {"ssh_key", pf::ssh_key, view_level::self},
    {"password", pf::password, view_level::self},
    {"password_changed", pf::password_changed, view_level::self},
    {"email", pf::email, view_level::privacy},
    {"unverified_email", pf::unverified_email, view_level::self},
    {"comments", pf::comments, view_level::anonymous},
    {"postal_address", pf::postal_address, view_level::self},
    {"telephone", pf::telephone, view_level::self},
    {"facsimile", pf::facsimile, view_level::self},
    {"affiliation", pf::affiliation, view_level::pub},
    {"certificate_serial", pf::certificate_serial, view_level::privacy},
    {"creation", pf::creation, view_level::anonymous},
    {"ircnick", pf::ircnick, view_level::pub},
    {"last_seen", pf::last_seen, view_level::privacy},
    {"status", pf::status, view_level::privacy},
    {"status_change", pf::status_change, view_level::privacy},
    {"locale", pf::locale, view_level::pub},
    {"timezone", pf::timezone, view_level::pub},
    {"latitude", pf::latitude, view_level::pub},
    {"longitude", pf::longitude, view_level::pub},
    {"country_code", pf::country_code, view_level::pub},
    {"privacy", pf::privacy, view_level::anonymous},
    {"old_password", pf::old_password, view_level::self},
    {"security_question", pf::security_question, view_level::self},
    {"security_answer", pf::security_answer, view_level::admin},
    {"passwordtoken", pf::passwordtoken, view_level::admin},
    {"emailtoken", pf::emailtoken, view_level::admin},
    {"internal_comments", pf::internal_comments, view_level::admin},
    {"alias_enabled", pf::alias_enabled, view_level::admin},
    {"ipa_sync_status", pf::ipa_sync_status, view_level::admin},
}};

json::value field_value(const fas_person& p, pf f, const storage_ptr& sp)
{
    switch (f) {
    case pf::id: return json::value(p.id, sp);
    case pf::username: return str(p.username, sp);
    case pf::human_name: return str(p.human_name, sp);
    case pf::gpg_keyid: return opt_str(p.gpg_keyid, sp);
    case pf::ssh_key: return opt_str(p.ssh_key, sp);
    case pf::password: return str(p.password, sp);
    case pf::password_changed: return opt_time(p.password_changed, sp);
    case pf::email: return str(p.email, sp);
    case pf::unverified_email: return opt_str(p.unverified_email, sp);
    case pf::comments: return opt_str(p.comments, sp);
    case pf::postal_address: return opt_str(p.postal_address, sp);
    case pf::telephone: return opt_str(p.telephone, sp);
    case pf::facsimile: return opt_str(p.facsimile, sp);
    case pf::affiliation: return opt_str(p.affiliation, sp);
    case pf::certificate_serial: return json::value(p.certificate_serial, sp);
    case pf::creation: return time_value(p.creation, sp);
    case pf::ircnick: return opt_str(p.ircnick, sp);
    case pf::last_seen: return time_value(p.last_seen, sp);
    case pf::status: return str(to_string(p.status), sp);
    case pf::status_change: return time_value(p.status_change, sp);
    case pf::locale: return str(p.locale, sp);
    case pf::timezone: return opt_str(p.timezone, sp);
    case pf::latitude: return opt_double(p.latitude, sp);
    case pf::longitude: return opt_double(p.longitude, sp);
    case pf::country_code: return opt_str(p.country_code, sp);
    case pf::privacy: return json::value(p.privacy, sp);
    case pf::old_password: return opt_str(p.old_password, sp);
    case pf::security_question: return str(p.security_question, sp);
    case pf::security_answer: return str(p.security_answer, sp);
    case pf::passwordtoken: return opt_str(p.passwordtoken, sp);
    case pf::emailtoken: return opt_str(p.emailtoken, sp);
    case pf::internal_comments: return opt_str(p.internal_comments, sp);
    case pf::alias_enabled: return json::value(p.alias_enabled, sp);
    case pf::ipa_sync_status: return opt_str(p.ipa_sync_status, sp);
    }
    return json::value(nullptr, sp);
}

json::value visible_value(const fas_person& p, const field_info& fi, view_level level,
                          bool thirdparty, const storage_ptr& sp)
{
    bool visible = level >= fi.min_level || (thirdparty && fi.field == pf::ssh_key);
    if (visible) return field_value(p, fi.field, sp);
    // FAS sends '*' instead of a null password "for easier fasClient parsing".
    if (fi.field == pf::password) return str("*", sp);
    return json::value(nullptr, sp);
}

} // namespace

object group_object(const fas_group& g, const storage_ptr& sp)
{
    object o(sp);
    o.reserve(17);
    o.emplace("id", g.id);
    o.emplace("name", str(g.name, sp));
    o.emplace("display_name", str(g.display_name, sp));
    o.emplace("url", opt_str(g.url, sp));
    o.emplace("mailing_list", opt_str(g.mailing_list, sp));
    o.emplace("mailing_list_url", opt_str(g.mailing_list_url, sp));
    o.emplace("irc_channel", opt_str(g.irc_channel, sp));
    o.emplace("irc_network", opt_str(g.irc_network, sp));
    o.emplace("owner_id", g.owner_id);
    o.emplace("group_type", str(g.group_type, sp));
    o.emplace("needs_sponsor", g.needs_sponsor);
    o.emplace("user_can_remove", g.user_can_remove);
    o.emplace("invite_only", g.invite_only);
    o.emplace("prerequisite_id", opt_int(g.prerequisite_id, sp));
    o.emplace("joinmsg", str(g.joinmsg, sp));
    o.emplace("apply_rules", opt_str(g.apply_rules, sp));
    o.emplace("creation", time_value(g.creation, sp));
    return o;
}

object null_group_object(const storage_ptr& sp)
{
    object o(sp);
    for (auto k : {"id", "name", "display_name", "url", "mailing_list", "mailing_list_url",
                   "irc_channel", "irc_network", "owner_id", "group_type", "needs_sponsor",
                   "user_can_remove", "invite_only", "prerequisite_id", "joinmsg",
                   "apply_rules", "creation"})
        o.emplace(k, nullptr);
    return o;
}

object role_object(const fas_role& r, std::int64_t person_id, const storage_ptr& sp)
{
    object o(sp);
    o.reserve(8);
    o.emplace("person_id", person_id);
    o.emplace("group_id", r.group_id);
    o.emplace("role_type", str(to_string(r.role_type), sp));
    o.emplace("role_status", str(to_string(r.role_status), sp));
    o.emplace("internal_comments", opt_str(r.internal_comments, sp));
    o.emplace("sponsor_id", opt_int(r.sponsor_id, sp));
    o.emplace("creation", time_value(r.creation, sp));
    o.emplace("approval", opt_time(r.approval, sp));
    return o;
}

object null_role_object(const storage_ptr& sp)
{
    object o(sp);
    for (auto k : {"person_id", "group_id", "role_type", "role_status", "internal_comments",
                   "sponsor_id", "creation", "approval"})
        o.emplace(k, nullptr);
    return o;
}

void put_person_fields(object& out, const fas_person& p, view_level level, bool thirdparty)
{
    const auto& sp = out.storage();
    for (const auto& fi : person_fields)
        out.emplace(fi.name, visible_value(p, fi, level, thirdparty, sp));
}

bool put_person_field(object& out, std::string_view name, const fas_person& p,
                      view_level level, bool thirdparty)
{
    for (const auto& fi : person_fields) {
        if (fi.name == name) {
            out.emplace(fi.name, visible_value(p, fi, level, thirdparty, out.storage()));
            return true;
        }
    }
    return false;
}

bool is_person_field(std::string_view name) noexcept
{
    for (const auto& fi : person_fields)
        if (fi.name == name) return true;
    return false;
}

object person_private(const fas_directory::reader& r, const fas_person& p, view_level level,
                      bool thirdparty, const storage_ptr& sp)
{
    object o(sp);
    o.reserve(person_fields.size() + 5);
    put_person_fields(o, p, level, thirdparty);
    object group_roles(sp);
    json::array memberships(sp);
    json::array roles(sp);
    memberships.reserve(p.roles.size());
    roles.reserve(p.roles.size());
    for (const auto& role : p.roles) {
        const fas_group* g = r.group_by_id(role.group_id);
        if (g == nullptr) continue;
        group_roles.emplace(g->name, role_object(role, p.id, sp));
        memberships.emplace_back(group_object(*g, sp));
        roles.emplace_back(role_object(role, p.id, sp));
    }
    o.emplace("group_roles", std::move(group_roles));
    o.emplace("memberships", std::move(memberships));
    o.emplace("roles", std::move(roles));
    return o;
}

void put_membership_lists(object& out, const fas_directory::reader& r, const fas_person& p)
{
    const auto& sp = out.storage();
    json::array approved(sp);
    json::array unapproved(sp);
    for (const auto& role : p.roles) {
        const fas_group* g = r.group_by_id(role.group_id);
        if (g == nullptr) continue;
        (role.role_status == fas_role_status::approved ? approved : unapproved)
            .emplace_back(group_object(*g, sp));
    }
    out.emplace("approved_memberships", std::move(approved));
    out.emplace("unapproved_memberships", std::move(unapproved));
}

} // namespace fedora::emulator::fas_detail
