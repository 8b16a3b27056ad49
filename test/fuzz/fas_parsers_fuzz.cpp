// libFuzzer target: every FAS operation's answer reading. Byte 0 picks the operation; the
// rest is the HTTP response FAS "sent". The bytes go through the same steps as a real
// answer (fedora::fas::detail::read_fas_answer, then the operation's parse, then recover
// where the operation has one), so what is checked is what a caller would get.
//
// Checked on every input: no crash, no exception, no sanitizer report, and a failure is a
// typed fedora::errc with a message (an app_error's text is the server's own, maybe empty).
// The operations that stream their answer (the dumps, and the one-person reads) also feed
// the body through the operation's own sink, in pieces of a size the first byte picks, and
// must end exactly as the whole-body parse did: both failed, or both gave the same result.
#include "fuzz_support.hpp"

#include "../../lib/fas/core.hpp"
#include "../../lib/fas/json_dump_sink.hpp"

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string_view>
#include <type_traits>
#include <variant>

namespace {

[[noreturn]] void fail(const char* what)
{
    std::fprintf(stderr, "%s\n", what);
    std::abort();
}

bool same(const fedora::fas::user_data_entry& a, const fedora::fas::user_data_entry& b)
{
    return a.username == b.username && a.password == b.password && a.human_name == b.human_name &&
           a.ssh_key == b.ssh_key && a.email == b.email && a.alias_enabled == b.alias_enabled;
}

bool same(const fedora::fas::person& a, const fedora::fas::person& b)
{
    return a.id == b.id && a.username == b.username && a.human_name == b.human_name && a.email == b.email &&
           a.ircnick == b.ircnick && a.status == b.status && a.creation == b.creation &&
           a.gpg_keyid == b.gpg_keyid && a.ssh_key == b.ssh_key && a.password == b.password &&
           a.locale == b.locale && a.timezone == b.timezone && a.privacy == b.privacy &&
           a.bugzilla_email == b.bugzilla_email &&
           a.approved_memberships.size() == b.approved_memberships.size() &&
           a.unapproved_memberships.size() == b.unapproved_memberships.size() && a.roles.size() == b.roles.size() &&
           a.raw == b.raw;
}

bool same(const std::optional<fedora::fas::person>& a, const std::optional<fedora::fas::person>& b)
{
    return a.has_value() == b.has_value() && (!a || same(*a, *b));
}

template <class Map>
bool same(const Map& a, const Map& b)
{
    if (a.size() != b.size())
        return false;
    for (auto i = a.begin(), j = b.begin(); i != a.end(); ++i, ++j)
        if (i->first != j->first || !same(i->second, j->second))
            return false;
    return true;
}

bool same(const fedora::fas::people_map& a, const fedora::fas::people_map& b)
{
    return a.index() == b.index() && std::visit(
                                         [&](const auto& x) {
                                             return same(x, std::get<std::decay_t<decltype(x)>>(b));
                                         },
                                         a);
}

// The body through the operation's sink, as the transport feeds it, then the same reading.
template <class Op>
void run_streamed(const Op& op, const fedora::http::response& resp, std::size_t piece, fedora::error_code whole_ec,
                  const typename Op::result_type& whole)
{
    auto req = op.build();
    if (!req.sink || !req.sink->accept(resp.message.base()))
        return;
    const std::string& body = resp.message.body();
    fedora::error_code ec;
    for (std::size_t i = 0; i < body.size() && !ec; i += piece)
        ec = req.sink->write(std::string_view(body).substr(i, piece));
    if (!ec)
        ec = req.sink->finish();
    if (ec) {
        if (ec != fedora::errc::server_error || req.sink->failure().empty())
            fail("the sink failed without a typed error and a message");
        // A parser keeps the last of two members of one name; the sink refuses that answer.
        if (!whole_ec && req.sink->failure().find("twice") == std::string::npos)
            fail("streamed, an answer the whole-body parse read failed");
        return;
    }
    fedora::http::response copy = resp;
    copy.message.body().clear();
    copy.body_streamed = true;
    fedora::fas::raw_reply r;
    typename Op::result_type out{};
    ec = fedora::fas::detail::read_fas_answer(copy, r, req.sink.get());
    if (!ec)
        ec = op.parse(r, out);
    if (bool(ec) != bool(whole_ec))
        fail(ec ? "streamed, an answer the whole-body parse read failed"
                : "streamed, an answer the whole-body parse refused was read");
    if (!ec && !same(out, whole))
        fail("streamed, the answer read differently from the whole-body parse");
}

template <class Op>
void run(const Op& op, const fedora::http::response& resp, std::size_t piece)
{
    fedora::http::response copy = resp;
    fedora::fas::raw_reply r;
    typename Op::result_type out{};
    fedora::error_code ec = fedora::fas::detail::read_fas_answer(copy, r);
    if (!ec)
        ec = op.parse(r, out);
    if constexpr (requires { op.recover(ec, r, out); })
        if (ec)
            ec = op.recover(ec, r, out);
    if (ec && ec.category() != fedora::error_category()) {
        std::fprintf(stderr, "untyped error: %s\n", ec.message().c_str());
        std::abort();
    }
    if (ec && ec != fedora::errc::app_error && r.diag.message.empty()) {
        std::fprintf(stderr, "error %s without a message\n", ec.message().c_str());
        std::abort();
    }
    if constexpr (requires { op.streamed; })
        run_streamed(op, resp, piece, ec, out);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    static auto table = fuzz_support::fas_operations();
    if (size < 1)
        return 0;
    fedora::http::response resp;
    if (!fuzz_support::read_response({reinterpret_cast<const char*>(data) + 1, size - 1}, resp))
        return 0;
    const std::size_t piece = 1 + data[0] / fuzz_support::fas_count;
    fuzz_support::visit_at(table, data[0] % fuzz_support::fas_count, [&](const auto& op) { run(op, resp, piece); });
    return 0;
}
