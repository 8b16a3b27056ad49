#include <fedora/fas/operations.hpp>

#include "../detail/json_read.hpp"
#include "../detail/record_access.hpp"
#include "json_dump_sink.hpp"

#include <boost/json.hpp>
#include <boost/url/parse.hpp>

#include <openssl/evp.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <variant>

namespace fedora::fas {
namespace json = boost::json;

using namespace fedora::detail::json_read;

namespace {

bool succeeded(const raw_reply& r)
{
    auto* o = r.body.if_object();
    return o && flag(*o, "success");
}

error_code wrong_shape(raw_reply& r, std::string what)
{
    r.diag.message = "unexpected answer: " + std::move(what);
    r.diag.body_snippet = mask_secrets(json::serialize(r.body).substr(0, 1024));
    return make_error_code(errc::server_error);
}

// FAS's soft failure ({"success": false, "tg_flash": ...}). An answer that is not even a
// JSON object is no application's answer: a server error.
error_code app_error(raw_reply& r, std::string name, std::string message)
{
    if (!r.body.is_object())
        return wrong_shape(r, "not a JSON object");
    r.diag.app_error_name = std::move(name);
    r.diag.message = std::move(message);
    return make_error_code(errc::app_error);
}

const json::object* object_at(const raw_reply& r, std::string_view key)
{
    auto* o = r.body.if_object();
    if (!o)
        return nullptr;
    auto* v = o->if_contains(key);
    return v ? v->if_object() : nullptr;
}

role to_role(const json::object& o)
{
    role r;
    r.person_id = num(o, "person_id");
    r.group_id = num(o, "group_id");
    r.role_type = str(o, "role_type");
    r.role_status = str(o, "role_status");
    r.sponsor_id = opt_num(o, "sponsor_id");
    r.creation = str(o, "creation");
    r.approval = str(o, "approval");
    r.raw = o;
    return r;
}

std::vector<role> roles_in(const json::value* v)
{
    std::vector<role> out;
    if (v && v->is_array())
        for (auto& e : v->get_array())
            if (e.is_object())
                out.push_back(to_role(e.get_object()));
    return out;
}

std::vector<role> roles_of(const json::object& o, std::string_view key) { return roles_in(o.if_contains(key)); }

group to_group(const json::object& o)
{
    group g;
    g.id = num(o, "id");
    g.name = str(o, "name");
    g.display_name = str(o, "display_name");
    g.owner_id = opt_num(o, "owner_id");
    g.group_type = str(o, "group_type");
    g.needs_sponsor = flag(o, "needs_sponsor");
    g.user_can_remove = flag(o, "user_can_remove");
    g.invite_only = flag(o, "invite_only");
    g.prerequisite_id = opt_num(o, "prerequisite_id");
    g.joinmsg = str(o, "joinmsg");
    g.apply_rules = str(o, "apply_rules");
    g.creation = str(o, "creation");
    g.approved_roles = roles_of(o, "approved_roles");
    g.unapproved_roles = roles_of(o, "unapproved_roles");
    g.raw = o;
    return g;
}

std::vector<group> groups_in(const json::value* v)
{
    std::vector<group> out;
    if (v && v->is_array())
        for (auto& e : v->get_array())
            if (e.is_object())
                out.push_back(to_group(e.get_object()));
    return out;
}

std::vector<group> groups_of(const json::object& o, std::string_view key) { return groups_in(o.if_contains(key)); }

std::vector<role> roles_in(const value_view& v) { return roles_in(v.value); }
std::vector<group> groups_in(const value_view& v) { return groups_in(v.value); }

// Whether `key`, already known to be as long as `name`, is `name`: compared eight bytes at a
// time in registers. A call of memcmp per candidate name (three per field of a dump) was
// an eighth of reading one.
template <std::size_t N>
bool name_is(std::string_view key, const char (&name)[N])
{
    constexpr std::size_t n = N - 1;
    static_assert(n > 0);
    const auto word = [](const char* p, std::size_t len) {
        std::uint64_t w = 0;
        std::memcpy(&w, p, len);
        return w;
    };
    if constexpr (n <= 8) {
        return word(key.data(), n) == word(name, n);
    } else {
        for (std::size_t i = 0; i + 8 < n; i += 8)
            if (word(key.data() + i, 8) != word(name + i, 8))
                return false;
        return word(key.data() + n - 8, 8) == word(name + n - 8, 8);  // the last eight, overlapping
    }
}

// One member of a person's record into its typed field; `V` is a parsed value
// (const json::value*) or a streamed one (value_view). Returns whether it was
// bugzilla_email. The switch on the key's length is deliberate: a table of names and member
// pointers searched per member cost 1,300 instructions more per call.
template <class V>
bool read_person_member(person& p, std::string_view key, const V& v)
{
    switch (key.size()) {
    case 2:
        if (name_is(key, "id"))
            p.id = opt_num_of(v).value_or(0);
        break;
    case 5:
        if (name_is(key, "email"))
            assign_str(p.email, v);
        else if (name_is(key, "roles"))
            p.roles = roles_in(v);
        break;
    case 6:
        if (name_is(key, "status"))
            assign_str(p.status, v);
        else if (name_is(key, "locale"))
            assign_str(p.locale, v);
        break;
    case 7:
        if (name_is(key, "ircnick"))
            assign_str(p.ircnick, v);
        else if (name_is(key, "ssh_key"))
            assign_str(p.ssh_key, v);
        else if (name_is(key, "privacy"))
            p.privacy = flag_of(v);
        break;
    case 8:
        if (name_is(key, "username"))
            assign_str(p.username, v);
        else if (name_is(key, "creation"))
            assign_str(p.creation, v);
        else if (name_is(key, "password"))
            assign_str(p.password, v);
        else if (name_is(key, "timezone"))
            assign_str(p.timezone, v);
        break;
    case 9:
        if (name_is(key, "gpg_keyid"))
            assign_str(p.gpg_keyid, v);
        break;
    case 10:
        if (name_is(key, "human_name"))
            assign_str(p.human_name, v);
        break;
    case 14:
        if (name_is(key, "bugzilla_email")) {
            assign_str(p.bugzilla_email, v);
            return true;
        }
        break;
    case 20:
        if (name_is(key, "approved_memberships"))
            p.approved_memberships = groups_in(v);
        break;
    case 22:
        if (name_is(key, "unapproved_memberships"))
            p.unapproved_memberships = groups_in(v);
        break;
    default:
        break;
    }
    return false;
}

// Takes the object over: it becomes the person's `raw` without a copy. Its members are
// walked once: a lookup per field hashed and probed seventeen times per person, the
// largest part of reading one.
person to_person(json::object raw)
{
    person p{.raw = std::move(raw)};  // constructed, not assigned: keeps the answer's arena
    bool has_bugzilla_email = false;
    for (const auto& member : p.raw.object())
        has_bugzilla_email |= read_person_member(p, member.key(), &member.value());
    if (!has_bugzilla_email)
        p.bugzilla_email = p.email;
    return p;
}

// person_by_id/username: the person's object, with the legacy top-level membership lists
// copied in. Takes it out of the answer (it is not read again after a successful parse).
std::optional<json::object> person_object(json::value& answer)
{
    auto* top = answer.if_object();
    auto* found = top ? top->if_contains("person") : nullptr;
    if (!found || !found->is_object())
        return std::nullopt;
    json::object merged = std::move(found->get_object());
    if (auto* a = top->if_contains("approved"))
        merged["approved_memberships"] = std::move(*a);
    if (auto* u = top->if_contains("unapproved"))
        merged["unapproved_memberships"] = std::move(*u);
    return merged;
}

} // namespace

namespace detail {

// person_by_id & co: the person read as the answer streams in (json_dump_sink with
// unit::member), field by field; `raw` is made of the answer's text, parsed only if someone
// reads it. Building the answer's DOM, and then the person from it, was the largest part
// of every call.
class streamed_person final : public json_dump_sink::element_reader
{
public:
    bool wants_body() const override { return true; }

    void start() override { complete_ = false; }

    void begin(std::string_view) override
    {
        // Made here, not with the request: a queued call holds no person yet.
        if (value_)
            *value_ = person{};
        else
            value_ = std::make_unique<person>();
        has_bugzilla_email_ = false;
        complete_ = false;
    }

    bool field(const json_dump_sink::field& f) override
    {
        has_bugzilla_email_ |= read_person_member(*value_, f.name, value_view{f.value, f.string});
        return true;
    }

    error_code end(std::string_view, std::string&) override
    {
        if (!has_bugzilla_email_)
            value_->bugzilla_email = value_->email;
        complete_ = true;
        return {};
    }

    error_code finish(std::string&& body, std::string&) override
    {
        body_ = std::move(body);
        return {};
    }

    // Whether the answer had a person object.
    bool complete() const { return complete_; }

    // The person, with the legacy top-level membership lists of `answer` (the rest of it)
    // merged in as person_object() merges them.
    void take(const json::value& answer, person& out)
    {
        if (const auto* top = answer.if_object()) {
            if (const auto* a = top->if_contains("approved"))
                value_->approved_memberships = groups_in(a);
            if (const auto* u = top->if_contains("unapproved"))
                value_->unapproved_memberships = groups_in(u);
        }
        value_->raw = fedora::detail::record_access::from_text(std::move(body_), &person_of_answer);
        out = std::move(*value_);
        complete_ = false;
    }

private:
    static json::object person_of_answer(json::value&& answer)
    {
        auto person = person_object(answer);  // there is one: the answer streamed had it
        return person ? std::move(*person) : json::object();
    }

    std::unique_ptr<person> value_;  // complete() only when begin() made it
    std::string body_;
    bool has_bugzilla_email_ = false;
    bool complete_ = false;
};

} // namespace detail

namespace {

// The person of the answer: as it streamed in, or from the whole answer's DOM.
bool read_person(raw_reply& r, person& out, detail::streamed_person* streamed)
{
    if (r.streamed && streamed) {
        if (!streamed->complete())
            return false;
        streamed->take(r.body, out);
        return true;
    }
    auto o = person_object(r.body);
    if (o)
        out = to_person(std::move(*o));
    return o.has_value();
}

void read_person(raw_reply& r, std::optional<person>& out, detail::streamed_person* streamed)
{
    if (r.streamed && streamed) {
        if (streamed->complete())
            streamed->take(r.body, out.emplace());
        return;
    }
    if (auto o = person_object(r.body))
        out.emplace(to_person(std::move(*o)));
}

std::string sha_hex(const EVP_MD* md, std::string_view data)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(data.data(), data.size(), digest, &n, md, nullptr);
    static constexpr char hex[] = "0123456789abcdef";
    std::string out(2 * n, '0');
    for (unsigned i = 0; i < n; ++i) {
        out[2 * i] = hex[digest[i] >> 4];
        out[2 * i + 1] = hex[digest[i] & 15];
    }
    return out;
}

// Python's quote_plus, on Boost.URL's form encoding.
std::string quote_plus(std::string_view v)
{
    http::form f;
    f.add("", v);
    return f.encode().substr(1);
}

} // namespace

// Fetched once: an implicit fetch by EVP_sha1() on every call costs more than the digest.
// A service sends many calls in a row with one session: the last token per thread is kept
// (it is derived from the session id alone, so it is no more secret than the id it sits next to).
std::string csrf_token_for(std::string_view session_id)
{
    static EVP_MD* const sha1 = EVP_MD_fetch(nullptr, "SHA1", nullptr);
    thread_local std::string last_session, last_token;
    if (session_id != last_session || last_token.empty()) {
        std::string token = sha_hex(sha1 ? sha1 : EVP_sha1(), session_id);
        last_session.assign(session_id);
        last_token = std::move(token);
    }
    return last_token;
}

namespace ops {

operation_request make_request(std::string_view fixed_path, std::initializer_list<std::string_view> segments)
{
    operation_request req;
    req.path.assign(fixed_path);  // a literal of this file: already a safe relative path
    for (auto s : segments) {
        if (!req.path.empty() && req.path.back() != '/')
            req.path.push_back('/');
        if (auto ec = http::append_encoded_segment(req.path, s)) {
            // "", "." or "..": RFC 3986 makes "%2E%2E" equivalent to "..", so no encoding
            // keeps these from climbing out of the base path.
            req.refused = ec;
            req.refused_message = s.empty() ? "an empty name cannot be a path segment"
                                            : "'.' and '..' cannot be path segments";
            req.path.clear();
            return req;
        }
    }
    return req;
}

// The request of an operation that reads one person: the answer's `person` streams into
// the operation's own reader.
operation_request person_request(std::string_view path, std::shared_ptr<detail::streamed_person>& streamed)
{
    auto r = make_request(path);
    streamed = std::make_shared<detail::streamed_person>();
    static constexpr std::string_view members[] = {"person"};
    r.sink = std::make_shared<detail::json_dump_sink>(members,
                                                      detail::json_dump_sink::container::object, streamed,
                                                      detail::json_dump_sink::unit::member);
    return r;
}

// ---- FasProxyClient ------------------------------------------------------------------

operation_request login::build() const
{
    auto r = make_request("login");
    r.needs_auth = true;
    r.credentials_only = true;
    r.safe_to_repeat = false;
    return r;
}

error_code login::parse(raw_reply& r, result_type& out) const
{
    auto* user = object_at(r, "user");
    if (!user)
        return wrong_shape(r, "login answer without `user`");
    out.user = to_person(*user);
    if (auto* g = user->if_contains("groups"); g && g->is_array())
        for (auto& e : g->get_array())
            if (e.is_string())
                out.groups.emplace_back(e.get_string());
    out.raw = r.body.get_object();
    return {};
}

operation_request logout::build() const
{
    auto r = make_request("logout");
    r.safe_to_repeat = false;
    return r;
}

error_code logout::parse(raw_reply&, result_type&) const { return {}; }

operation_request refresh_session::build() const { return make_request(""); }

error_code refresh_session::parse(raw_reply& r, result_type& out) const
{
    if (auto* o = r.body.if_object())
        out = *o;
    return {};
}

operation_request verify_home::build() const
{
    auto r = make_request("home");
    r.credentials_only = credentials_only;
    return r;
}

error_code verify_home::parse(raw_reply&, result_type& out) const
{
    out = true;
    return {};
}

error_code verify_home::recover(error_code ec, raw_reply&, result_type& out) const
{
    if (ec != errc::auth_error)
        return ec;
    out = false;
    return {};
}

operation_request get_user_info::build() const { return person_request("user/view", streamed); }

error_code get_user_info::parse(raw_reply& r, result_type& out) const
{
    if (!read_person(r, out, streamed.get()))
        return wrong_shape(r, "user/view without `person`");
    out.bugzilla_email = out.email;
    return {};
}

operation_request proxy_person_by_id::build() const
{
    auto r = person_request("json/person_by_id", streamed);
    r.form.add("person_id", std::to_string(person_id));
    return r;
}

error_code proxy_person_by_id::parse(raw_reply& r, result_type& out) const
{
    if (!succeeded(r)) {
        auto* o = r.body.if_object();
        return app_error(r, "Generic AppError", o ? str(*o, "tg_flash") : std::string());
    }
    if (!read_person(r, out, streamed.get()))
        return wrong_shape(r, "person_by_id without `person`");
    return {};
}

operation_request group_list_op::build() const { return make_request("group/list"); }

error_code group_list_op::parse(raw_reply& r, result_type& out) const
{
    auto* o = r.body.if_object();
    if (!o || !o->contains("groups"))
        return wrong_shape(r, "group/list without `groups`");
    out.groups = groups_of(*o, "groups");
    if (auto* m = o->if_contains("memberships"); m && m->is_object()) {
        for (auto& [gid, list] : m->get_object()) {
            std::int64_t id = 0;
            std::from_chars(gid.data(), gid.data() + gid.size(), id);
            auto& v = out.memberships[id];
            if (list.is_array())
                for (auto& e : list.get_array())
                    if (e.is_object())
                        v.push_back({num(e.get_object(), "person_id"), str(e.get_object(), "role_type")});
        }
    }
    out.raw = *o;
    return {};
}

operation_request send_request::build() const
{
    operation_request r;
    // Each part of the method stays inside the base path: parts are encoded one by one,
    // and dot segments are refused.
    std::string_view m = method;
    while (!m.empty() && m.front() == '/')
        m.remove_prefix(1);
    boost::urls::url u("x:/");
    while (!m.empty()) {
        auto slash = m.find('/');
        auto part = m.substr(0, slash);
        m = slash == std::string_view::npos ? std::string_view{} : m.substr(slash + 1);
        if (part.empty() && m.empty())
            break;  // a trailing '/'
        if (http::append_path_segment(u, part)) {
            r.refused = make_error_code(errc::invalid_argument);
            r.refused_message = "the method has an empty, '.' or '..' part";
            return r;
        }
    }
    r.path = std::string(u.encoded_path()).substr(1);
    r.form = req_params;
    r.needs_auth = false;
    r.safe_to_repeat = safe_to_repeat;
    return r;
}

error_code send_request::parse(raw_reply& r, result_type& out) const
{
    out = std::move(r.body);
    return {};
}

// ---- AccountSystem ---------------------------------------------------------------------

operation_request person_by_id::build() const
{
    auto r = person_request("json/person_by_id", streamed);
    r.form.add("person_id", std::to_string(person_id));
    return r;
}

error_code person_by_id::parse(raw_reply& r, result_type& out) const
{
    if (succeeded(r))
        read_person(r, out, streamed.get());
    return {};
}

operation_request person_by_username::build() const
{
    auto r = person_request("json/person_by_username", streamed);
    r.form.add("username", username);
    return r;
}

error_code person_by_username::parse(raw_reply& r, result_type& out) const
{
    if (succeeded(r))
        read_person(r, out, streamed.get());
    return {};
}

operation_request group_by_id::build() const
{
    auto r = make_request("json/group_by_id");
    r.form.add("group_id", std::to_string(group_id));
    return r;
}

error_code group_by_id::parse(raw_reply& r, result_type& out) const
{
    if (succeeded(r))
        if (auto* g = object_at(r, "group"))
            out = to_group(*g);
    return {};
}

operation_request group_by_name::build() const
{
    auto r = make_request("json/group_by_name");
    r.form.add("groupname", groupname);
    return r;
}

error_code group_by_name::parse(raw_reply& r, result_type& out) const
{
    auto* g = succeeded(r) ? object_at(r, "group") : nullptr;
    if (!g)
        return app_error(r, "FASError", "FAS server unable to retrieve group " + groupname);
    out = to_group(*g);
    return {};
}

operation_request group_members::build() const { return make_request("group/dump", {groupname}); }

error_code group_members::parse(raw_reply& r, result_type& out) const
{
    auto* o = r.body.if_object();
    auto* people = o ? o->if_contains("people") : nullptr;
    if (!people || !people->is_array())
        return wrong_shape(r, "group/dump without `people`");
    for (auto& row : people->get_array()) {
        if (!row.is_array() || row.get_array().size() < 4 || !row.get_array()[0].is_string())
            return wrong_shape(r, "group/dump row");
        auto& a = row.get_array();
        out.push_back({std::string(a[0].get_string()), a[3].is_string() ? std::string(a[3].get_string()) : ""});
    }
    return {};
}

const std::vector<std::string>& people_by_key::user_fields()
{
    static const std::vector<std::string> fields = {
        "affiliation", "bugzilla_email", "certificate_serial", "comments", "country_code",
        "creation", "email", "emailtoken", "facsimile", "gpg_keyid", "human_name", "id",
        "internal_comments", "ircnick", "latitude", "last_seen", "longitude", "password",
        "password_changed", "passwordtoken", "postal_address", "privacy", "locale", "ssh_key",
        "status", "status_change", "telephone", "unverified_email", "timezone", "username",
        "security_question", "security_answer"};
    return fields;
}

namespace {

// What people_by_key makes of one entry of user/list, whether it came in a DOM or streamed.
struct person_reader
{
    std::string key;
    std::vector<std::string> wanted;
    bool want_bugzilla = false;
    // The fields the server sends whether asked or not, and whether they were asked for:
    // decided once, not per entry. They are left out of the person, `raw` included.
    std::vector<std::string> unwanted;

    explicit person_reader(const people_by_key& op)
        : key(op.key), wanted(op.fields.empty() ? people_by_key::user_fields() : op.fields)
    {
        want_bugzilla = requested("bugzilla_email");
        for (auto f : {std::string_view("id"), std::string_view("email"), std::string_view(key)})
            if (!requested(f) && !is_unwanted(f))
                unwanted.emplace_back(f);
    }

    bool requested(std::string_view f) const { return std::find(wanted.begin(), wanted.end(), f) != wanted.end(); }
    // Asked of every field of a dump: mostly nothing is unwanted, and a search of an empty
    // vector still cost a call of thirty-odd instructions.
    bool is_unwanted(std::string_view f) const
    {
        return !unwanted.empty() && std::find(unwanted.begin(), unwanted.end(), f) != unwanted.end();
    }

    static error_code not_an_object(std::string& why)
    {
        why = "unexpected answer: user/list entry";
        return make_error_code(errc::server_error);
    }

    error_code without_key(std::string& why) const
    {
        why = "unexpected answer: user/list entry without `" + key + "`";
        return make_error_code(errc::server_error);
    }

    // From a DOM: takes the entry over (it becomes the person's `raw`, in the memory it was
    // parsed into).
    error_code add(json::value& e, class people_builder& out, std::string& why) const;
};

// The people of a user/list answer, collected and then made into the map at once: sorted by
// key, each inserted at the end. Inserting each as it came walked the map from its root, a
// cache miss per level over tens of thousands of people: a seventh of reading the dump.
// (Putting each person into a map node as it was read, and linking the nodes in at the end,
// was slower still.)
class people_builder
{
public:
    explicit people_builder(const person_reader& reader)
    {
        if (reader.key == "id")
            parts_.emplace<part<people_by_id_map>>();
    }

    // python-fedora adds bugzilla_email (the e-mail) to each entry. Here it is the typed
    // field alone and `raw` stays the server's record, as for person_by_id: adding a member
    // to a full object rehashed it, a tenth of reading the entry.
    void add(const value_view& k, person&& p, std::string&& bugzilla)
    {
        p.bugzilla_email = std::move(bugzilla);
        if (auto* by_id = std::get_if<part<people_by_id_map>>(&parts_))
            by_id->add(k.value && k.value->is_int64() ? k.value->get_int64() : 0, std::move(p));
        else
            std::get<part<people_by_text_map>>(parts_).add(
                k.value ? json::serialize(*k.value) : std::string(k.string), std::move(p));
    }

    void clear()
    {
        std::visit([](auto& part) { part.clear(); }, parts_);
    }

    // A key seen twice: the last one wins.
    void build(people_map& out)
    {
        std::visit(
            [&](auto& part) {
                using map_type = typename std::decay_t<decltype(part)>::map_type;
                part.build(out.emplace<map_type>());
            },
            parts_);
    }

private:
    template <class Map>
    struct part
    {
        using map_type = Map;
        // In blocks of 64, never moved as they grow. (A std::deque allocated a block per
        // person: a person is larger than its 512-byte blocks.)
        static constexpr std::uint32_t block_size = 64;
        std::vector<std::unique_ptr<person[]>> people;
        std::vector<std::pair<typename Map::key_type, std::uint32_t>> order;

        void add(typename Map::key_type key, person&& p)
        {
            const auto n = static_cast<std::uint32_t>(order.size());
            if (n % block_size == 0)
                people.push_back(std::make_unique<person[]>(block_size));
            people.back()[n % block_size] = std::move(p);
            order.emplace_back(std::move(key), n);
        }

        void build(Map& map)
        {
            std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
            for (auto& entry : order)
                map.insert_or_assign(map.end(), std::move(entry.first),
                                     std::move(people[entry.second / block_size][entry.second % block_size]));
            clear();
        }

        void clear()
        {
            people.clear();
            order.clear();
        }
    };

    std::variant<part<people_by_text_map>, part<people_by_id_map>> parts_;
};

error_code person_reader::add(json::value& e, people_builder& out, std::string& why) const
{
    if (!e.is_object())
        return not_an_object(why);
    if (!e.get_object().contains(key))
        return without_key(why);
    json::object p(std::move(e.get_object()));
    std::string bugzilla = want_bugzilla ? str_of(p.if_contains("email")) : std::string();
    const json::value k = p.at(key);
    for (auto f : unwanted)
        p.erase(f);
    out.add(view_of(k), to_person(std::move(p)), std::move(bugzilla));
    return {};
}

// Streamed: each entry read field by field as it is parsed, its `raw` kept as its JSON text
// and parsed only if someone reads it. Building each entry's object (hashing its keys,
// copying its strings into nodes, then destroying them all) was most of reading the dump.
class people_stream_reader final : public detail::json_dump_sink::element_reader
{
public:
    people_stream_reader(const people_by_key& op, std::shared_ptr<people_map> out)
        : reader_(op), people_(reader_), out_(std::move(out))
    {
    }

    bool wants_text() const override { return true; }
    bool keeps_every_field() const override { return reader_.unwanted.empty(); }

    void start() override { people_.clear(); }

    void begin(std::string_view) override
    {
        person_ = person{};
        bugzilla_.clear();
        has_key_ = false;
    }

    bool field(const detail::json_dump_sink::field& f) override
    {
        const value_view v{f.value, f.string};
        if (f.name == reader_.key) {
            has_key_ = true;
            key_is_string_ = !f.value;
            if (f.value)
                key_value_ = *f.value;
            else
                key_string_.assign(f.string);
        }
        if (reader_.want_bugzilla && f.name == "email")
            bugzilla_ = str_of(v);
        if (reader_.is_unwanted(f.name))
            return false;
        read_person_member(person_, f.name, v);
        return true;
    }

    error_code end(std::string_view text, std::string& why) override
    {
        if (!has_key_)
            return reader_.without_key(why);
        person_.raw = fedora::detail::record_access::from_text_copy(text);
        const value_view k{key_is_string_ ? nullptr : &key_value_, key_string_};
        people_.add(k, std::move(person_), std::move(bugzilla_));
        return {};
    }

    error_code finish(std::string&&, std::string&) override
    {
        people_.build(*out_);
        return {};
    }

    error_code not_an_object(std::string_view, std::string& why) override { return person_reader::not_an_object(why); }

private:
    const person_reader reader_;
    people_builder people_;
    std::shared_ptr<people_map> out_;
    person person_;
    std::string bugzilla_;
    bool has_key_ = false;
    bool key_is_string_ = false;
    json::value key_value_;   // the key's value unless it is a string,
    std::string key_string_;  // which is here
};

} // namespace

operation_request people_by_key::build() const
{
    auto r = make_request("user/list");
    if (key != "id" && key != "username" && key != "email") {
        r.refused = make_error_code(errc::invalid_argument);
        r.refused_message = "key must be one of \"id\", \"username\", or \"email\"";
        return r;
    }
    const auto& all = user_fields();
    std::vector<std::string> wanted = fields.empty() ? all : fields;
    for (auto& f : wanted) {
        if (std::find(all.begin(), all.end(), f) == all.end()) {
            r.refused = make_error_code(errc::invalid_argument);
            r.refused_message = "'" + f + "' is not a valid field to filter";
            return r;
        }
    }
    auto add_missing = [&](const std::string& f) {
        if (std::find(wanted.begin(), wanted.end(), f) == wanted.end())
            wanted.push_back(f);
    };
    add_missing(key);
    if (std::find(wanted.begin(), wanted.end(), "bugzilla_email") != wanted.end()) {
        add_missing("id");
        add_missing("email");
    }
    r.form.add("search", search);
    for (auto& f : wanted)
        if (f != "bugzilla_email")
            r.form.add("fields", f);
    streamed = std::make_shared<result_type>();
    static constexpr std::string_view members[] = {"people", "unapproved_people"};
    r.sink = std::make_shared<detail::json_dump_sink>(members,
                                                      detail::json_dump_sink::container::array,
                                                      std::make_shared<people_stream_reader>(*this, streamed));
    return r;
}

error_code people_by_key::parse(raw_reply& r, result_type& out) const
{
    auto* o = r.body.if_object();
    if (!o || !o->contains("people"))
        return wrong_shape(r, "user/list without `people`");
    if (r.streamed && streamed) {
        out = std::move(*streamed);
        return {};
    }
    const person_reader reader(*this);
    people_builder people(reader);
    for (auto list : {"people", "unapproved_people"}) {
        auto* v = r.body.get_object().if_contains(list);
        if (!v || !v->is_array())
            continue;
        for (auto& e : v->get_array()) {
            std::string why;
            if (auto ec = reader.add(e, people, why)) {
                r.diag.message = std::move(why);
                r.diag.body_snippet = json::serialize(e).substr(0, 1024);
                return ec;
            }
        }
    }
    people.build(out);
    return {};
}

operation_request user_id::build() const { return make_request("json/user_id"); }

error_code user_id::parse(raw_reply& r, result_type& out) const
{
    auto* people = object_at(r, "people");
    if (!people)
        return wrong_shape(r, "json/user_id without `people`");
    for (auto& [id, name] : *people) {
        std::int64_t n = 0;
        if (std::from_chars(id.data(), id.data() + id.size(), n).ec != std::errc{} || !name.is_string())
            return wrong_shape(r, "json/user_id entry");
        out[n] = std::string(name.get_string());
    }
    return {};
}

operation_request group_dump_all::build() const { return make_request("group/dump"); }

error_code group_dump_all::parse(raw_reply& r, result_type& out) const
{
    auto* o = r.body.if_object();
    auto* people = o ? o->if_contains("people") : nullptr;
    if (!people || !people->is_array())
        return wrong_shape(r, "group/dump without `people`");
    for (auto& row : people->get_array())
        if (row.is_array())
            out.push_back(row.get_array());
    return {};
}

operation_request people_query::build() const
{
    auto r = make_request("json/people_query");
    for (auto& [k, v] : constraints)
        r.form.add(k, v);
    std::string cols;
    for (auto& c : columns)
        cols += (cols.empty() ? "" : ",") + c;
    r.form.add("columns", cols);
    return r;
}

error_code people_query::parse(raw_reply& r, result_type& out) const
{
    auto* o = r.body.if_object();
    if (!o)
        return wrong_shape(r, "people_query answer is not an object");
    if (!flag(*o, "success"))
        return app_error(r, "FASError", str(*o, "error"));
    if (auto* d = o->if_contains("data"); d && d->is_array())
        for (auto& row : d->get_array())
            if (row.is_object())
                out.push_back(row.get_object());
    return {};
}

namespace {

void add_user_data_entry(std::string_view id, const json::value& v, user_data::result_type& out)
{
    if (!v.is_object())
        return;
    auto& o = v.get_object();
    out[std::string(id)] = user_data_entry{str(o, "username"), str(o, "password"), str(o, "human_name"),
                                           str(o, "ssh_key"), str(o, "email"), flag(o, "alias_enabled")};
}

} // namespace

namespace {

// user_data entries field by field as they are parsed, with what add_user_data_entry makes
// of the same JSON.
class user_data_reader final : public detail::json_dump_sink::element_reader
{
public:
    explicit user_data_reader(std::shared_ptr<user_data::result_type> out) : out_(std::move(out)) {}

    void start() override { out_->clear(); }

    void begin(std::string_view key) override
    {
        key_.assign(key);
        entry_ = {};
    }

    bool field(const detail::json_dump_sink::field& f) override
    {
        if (auto* target = field_of(f.name)) {
            if (f.value)
                *target = str_of(f.value);
            else
                target->assign(f.string);  // into the entry's own string: no temporary
        } else if (f.name.size() == 13 && f.name == "alias_enabled") {
            entry_.alias_enabled = flag_of(f.value);
        }
        return false;
    }

    error_code end(std::string_view, std::string&) override
    {
        out_->insert_or_assign(out_->end(), std::move(key_), std::move(entry_));
        return {};
    }

private:
    // By length first, as read_person_member: one comparison per field, not five.
    std::string* field_of(std::string_view field)
    {
        switch (field.size()) {
        case 5:
            return field == "email" ? &entry_.email : nullptr;
        case 7:
            return field == "ssh_key" ? &entry_.ssh_key : nullptr;
        case 8:
            if (field == "username")
                return &entry_.username;
            return field == "password" ? &entry_.password : nullptr;
        case 10:
            return field == "human_name" ? &entry_.human_name : nullptr;
        default:
            return nullptr;
        }
    }

    std::shared_ptr<user_data::result_type> out_;
    std::string key_;
    user_data_entry entry_;
};

} // namespace

operation_request user_data::build() const
{
    auto r = make_request("json/fas_client/user_data");
    streamed = std::make_shared<result_type>();
    static constexpr std::string_view members[] = {"data"};
    r.sink = std::make_shared<detail::json_dump_sink>(members,
                                                      detail::json_dump_sink::container::object,
                                                      std::make_shared<user_data_reader>(streamed));
    return r;
}

error_code user_data::parse(raw_reply& r, result_type& out) const
{
    auto* d = succeeded(r) ? object_at(r, "data") : nullptr;
    if (!d)
        return app_error(r, "FASError", "FAS server unable to retrieve user information");
    if (r.streamed && streamed) {
        out = std::move(*streamed);
        return {};
    }
    for (auto& [id, v] : *d)
        add_user_data_entry(id, v, out);
    return {};
}

operation_request group_data::build() const
{
    auto r = make_request("json/fas_client/group_data");
    if (force_refresh)
        r.form.add("force_refresh", "True");
    return r;
}

error_code group_data::parse(raw_reply& r, result_type& out) const
{
    auto* d = succeeded(r) ? object_at(r, "data") : nullptr;
    if (!d)
        return app_error(r, "FASError", "FAS server unable to retrieve group members");
    auto ids = [](const json::object& o, std::string_view k) {
        std::vector<std::int64_t> v;
        if (auto* a = o.if_contains(k); a && a->is_array())
            for (auto& e : a->get_array())
                if (e.is_int64())
                    v.push_back(e.get_int64());
        return v;
    };
    for (auto& [name, v] : *d) {
        if (!v.is_object())
            continue;
        auto& o = v.get_object();
        out[std::string(name)] = group_data_entry{num(o, "id"), str(o, "type"), ids(o, "administrators"),
                                                  ids(o, "sponsors"), ids(o, "users")};
    }
    return {};
}

operation_request get_config::build() const { return make_request("config/list", {username, application, attribute}); }

error_code get_config::parse(raw_reply& r, result_type& out) const
{
    auto* c = object_at(r, "configs");
    if (!c)
        return wrong_shape(r, "config/list without `configs`");
    if (auto* v = c->if_contains(attribute); v && !v->is_null())
        out = v->is_string() ? std::string(v->get_string()) : json::serialize(*v);
    return {};
}

operation_request get_configs_like::build() const
{
    return make_request("config/list", {username, application, pattern});
}

error_code get_configs_like::parse(raw_reply& r, result_type& out) const
{
    auto* c = object_at(r, "configs");
    if (!c)
        return wrong_shape(r, "config/list without `configs`");
    for (auto& [k, v] : *c)
        out[std::string(k)] = v.is_string() ? std::string(v.get_string()) : (v.is_null() ? "" : json::serialize(v));
    return {};
}

operation_request set_config::build() const
{
    auto r = make_request("config/set", {username, application, attribute});
    r.form.add("value", value);
    r.safe_to_repeat = false;
    return r;
}

error_code set_config::parse(raw_reply&, result_type&) const { return {}; }

operation_request create_group::build() const
{
    auto r = make_request("group/create", {name, display_name, owner, group_type});
    r.form.add("invite_only", std::to_string(invite_only))
        .add("needs_sponsor", std::to_string(needs_sponsor))
        .add("user_can_remove", std::to_string(user_can_remove))
        .add("prerequisite", prerequisite)
        .add("joinmsg", joinmsg)
        .add("apply_rules", apply_rules);
    r.safe_to_repeat = false;
    return r;
}

error_code create_group::parse(raw_reply& r, result_type& out) const
{
    auto* o = r.body.if_object();
    if (!o)
        return wrong_shape(r, "group/create answer is not an object");
    out = *o;
    return {};
}

operation_request user_gencert::build() const
{
    auto r = make_request("user/dogencert");
    // Without tg_format=json FAS redirects a user without CLA to an HTML page, and
    // python-fedora reported a JSON ServerError instead of its CLAError.
    r.form.add("tg_format", "json");
    r.safe_to_repeat = false;  // each call makes a new certificate and revokes the last
    return r;
}

error_code user_gencert::parse(raw_reply& r, result_type& out) const
{
    auto* o = r.body.if_object();
    if (!o || !o->contains("cla"))
        return wrong_shape(r, "user/dogencert without `cla`");
    if (!flag(*o, "cla")) {
        r.diag.message = "the user has not signed the CLA";
        return make_error_code(errc::cla_error);
    }
    out = str(*o, "cert") + "\n" + str(*o, "key");
    return {};
}

} // namespace ops

// ---- avatars -------------------------------------------------------------------------

bool valid_avatar_size(int size) noexcept { return size == 32 || size == 64 || size == 140; }

namespace {
std::string default_avatar(int size, std::string_view given)
{
    if (!given.empty())
        return std::string(given);
    auto s = std::to_string(size);
    return "http://fedoraproject.org/static/images/fedora_infinity_" + s + "x" + s + ".png";
}
} // namespace

std::string gravatar_url_for_email(std::string_view email, int size, std::string_view default_url)
{
    return "http://www.gravatar.com/avatar/" + sha_hex(EVP_md5(), email) + "?s=" + std::to_string(size) +
           "&d=" + quote_plus(default_avatar(size, default_url));
}

std::string libravatar_url_for_username(std::string_view username, int size, std::string_view default_url)
{
    // pylibravatar lower-cases the scheme and host of the OpenID identity before hashing.
    std::string host(username);
    for (auto& c : host)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const std::string openid = "http://" + host + ".id.fedoraproject.org/";
    return "http://cdn.libravatar.org/avatar/" + sha_hex(EVP_sha256(), openid) +
           "?d=" + quote_plus(default_avatar(size, default_url)) + "&s=" + std::to_string(size);
}

} // namespace fedora::fas
