// libFuzzer target: every FAS operation's answer reading. Byte 0 picks the operation; the
// rest is the HTTP response FAS "sent". The bytes go through the same steps as a real
// answer (fedora::fas::detail::read_fas_answer, then the operation's parse, then recover
// where the operation has one), so what is checked is what a caller would get.
//
// Checked on every input: no crash, no exception, no sanitizer report, and a failure is a
// typed fedora::errc with a message (an app_error's text is the server's own, maybe empty).
#include "fuzz_support.hpp"

#include "../../lib/fas/core.hpp"

#include <cstdio>
#include <cstdlib>

namespace {

template <class Op>
void run(const Op& op, const fedora::http::response& resp)
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
    fuzz_support::visit_at(table, data[0] % fuzz_support::fas_count, [&](const auto& op) { run(op, resp); });
    return 0;
}
