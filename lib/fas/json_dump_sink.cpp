#include "json_dump_sink.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse_options.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <stdexcept>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace fedora::fas::detail {

namespace json = boost::json;
namespace bhttp = boost::beast::http;

namespace {

json::parse_options dump_options()
{
    json::parse_options opt;
    opt.max_depth = 64;  // as for every other FAS answer
    return opt;
}

// How many bytes at the start of `s` a JSON string can hold as they are: all but '"', '\\'
// and control characters. Eight at a time, as the transport's header check: every string of
// a dump passes here, and almost none needs an escape.
std::size_t plain_prefix(std::string_view s)
{
    constexpr std::uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    const auto has_byte = [](std::uint64_t v, unsigned char b) {
        v ^= ones * b;
        return (v - ones) & ~v & highs;
    };
    std::size_t i = 0;
    for (; i + 8 <= s.size(); i += 8) {
        std::uint64_t v;
        std::memcpy(&v, s.data() + i, 8);
        if (((v - ones * 0x20) & ~v & highs) | has_byte(v, '"') | has_byte(v, '\\'))
            break;
    }
    for (; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x20 || c == '"' || c == '\\')
            break;
    }
    return i;
}

// `s` as a JSON string; the parser has checked its UTF-8 already.
void append_json_string(std::string& out, std::string_view s)
{
    static constexpr char hex[] = "0123456789abcdef";
    out += '"';
    for (;;) {
        const std::size_t plain = plain_prefix(s);
        out.append(s.data(), plain);
        if (plain == s.size())
            break;
        const auto c = static_cast<unsigned char>(s[plain]);
        s.remove_prefix(plain + 1);
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
            out += "\\u00";
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    out += '"';
}

// The text of the pieces of a key or string so far, with this one.
void gather(std::string& into, json::string_view s, std::size_t n)
{
    if (n == s.size())
        into.clear();  // the first piece
    into.append(s.data(), s.size());
}

} // namespace

json_dump_parser::json_dump_parser(std::span<const std::string_view> members, container kind,
                               std::shared_ptr<element_reader> reader, unit what)
    : members_(members),
      kind_(what == unit::member ? container::object : kind),
      unit_(what),
      reader_(std::move(reader)),
      wants_text_(reader_->wants_text()),
      verbatim_(wants_text_ && unit_ == unit::elements && reader_->keeps_every_field()),
      wants_body_(reader_->wants_body()),
      parser_(dump_options(), *this)
{
}

json_dump_sink::json_dump_sink(std::span<const std::string_view> members, container kind,
                               std::shared_ptr<element_reader> reader, unit what)
    : members_(members), kind_(kind), unit_(what), reader_(std::move(reader))
{
    if (members_.size() > 32)
        throw std::invalid_argument("json_dump_sink: at most 32 streamed members");
}

json_dump_sink::~json_dump_sink() = default;

bool json_dump_sink::accept(const bhttp::response_header<>& header)
{
    if (!parser_)
        parser_ = std::make_unique<json_dump_parser>(members_, kind_, reader_, unit_);
    return parser_->accept(header);
}

// The transport writes and finishes only after accept() said yes; anyone else gets an error.
error_code json_dump_sink::write(std::string_view data)
{
    return parser_ ? parser_->write(data) : make_error_code(errc::invalid_argument);
}

error_code json_dump_sink::finish() { return parser_ ? parser_->finish() : make_error_code(errc::invalid_argument); }
std::string json_dump_sink::failure() const { return parser_ ? parser_->failure() : std::string(); }
json::value json_dump_sink::take_rest() { return parser_ ? parser_->take_rest() : json::value(); }

const std::string& json_dump_sink::body() const
{
    static const std::string none;
    return parser_ ? parser_->body() : none;
}

json_dump_parser::handler::handler(json_dump_parser& s) : sink(s) {}

bool json_dump_parser::accept(const bhttp::response_header<>& header)
{
    // Error pages and redirects keep the ordinary path, which reports them with a snippet.
    if (header.result_int() != 200)
        return false;
    // One walk over the fields for the two this needs: a lookup by name compares names
    // case-blind down the fields' tree, and two of them cost more than reading a person.
    std::string_view type, length;
    bool has_type = false, has_length = false;
    for (const auto& f : header) {
        if (f.name() == bhttp::field::content_type && !has_type) {
            type = f.value();
            has_type = true;
        } else if (f.name() == bhttp::field::content_length && !has_length) {
            length = f.value();
            has_length = true;
        }
    }
    if (type.find("json") == std::string_view::npos)
        return false;
    parser_.reset();
    // The rest (a few members around the streamed ones) is built in one arena: its object
    // and each of its keys were an allocation and a free apiece. Shared, as the value
    // outlives the sink in the operation's reply.
    rest_.reset(json::make_shared_resource<json::monotonic_resource>());
    place_ = place::outside;
    streamed_members_ = 0;
    depth_ = inner_depth_ = 0;
    top_key_.clear();
    element_key_.clear();
    number_.clear();
    element_text_.clear();
    bounds_.reset();
    chunk_offset_ = element_begin_ = 0;
    body_.clear();
    if (wants_body_) {
        // Room for all of it in one allocation, which the record then keeps.
        std::uint64_t n = 0;
        std::from_chars(length.data(), length.data() + length.size(), n);
        body_.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(n ? n : 1024, 1024 * 1024)));
    }
    element_error_ = {};
    failure_.clear();
    reader_->start();
    return true;
}

error_code json_dump_parser::write(std::string_view data)
{
    if (wants_body_)
        body_.append(data);
    error_code ec;
    chunk_ = data;
    if (verbatim_)
        bounds_.scan(data, chunk_offset_);
    const std::size_t used = parser_.write_some(true, data.data(), data.size(), ec);
    if (field_name_.data() != field_.data()) {
        field_.assign(field_name_);  // a name in this chunk, whose value is still to come
        field_name_ = field_;
    }
    if (verbatim_ && (place_ == place::element || place_ == place::nested))
        copy_element_text(chunk_offset_ + data.size());  // the element goes on in the next chunk
    chunk_offset_ += data.size();
    chunk_ = {};
    if (element_error_)
        return element_error_;
    if (ec) {
        failure_ = "the answer is not JSON: " + ec.message();
        return make_error_code(errc::server_error);
    }
    if (used < data.size()) {
        // The parser stops at the end of the document; boost::json::parse calls what follows
        // an error, and so does this.
        failure_ = "the answer is not JSON: extra data after it";
        return make_error_code(errc::server_error);
    }
    return {};
}

error_code json_dump_parser::finish()
{
    error_code ec;
    parser_.write_some(false, nullptr, 0, ec);
    if (element_error_)
        return element_error_;
    if (ec || !parser_.done()) {
        failure_ = "the answer is not JSON: " + (ec ? ec.message() : std::string("incomplete"));
        return make_error_code(errc::server_error);
    }
    return reader_->finish(std::move(body_), failure_);
}

std::string json_dump_parser::failure() const { return failure_; }

json::value json_dump_parser::take_rest() { return rest_.release(); }

void json_dump_parser::deliver_field_with_text(const json::value* value, std::string_view string, std::string_view text)
{
    // Written straight into the element's text, and taken out again if the reader leaves it.
    const std::size_t mark = element_text_.size();
    if (mark > 1)
        element_text_ += ',';
    const std::size_t start = element_text_.size();
    append_string_text(field_name_);
    element_text_ += ':';
    if (!value)
        append_string_text(string);
    else if (!text.empty())
        element_text_ += text;
    else if (value->is_object() && value->get_object().empty())
        element_text_ += "{}";  // nested and empty: a person's five lists, mostly
    else if (value->is_array() && value->get_array().empty())
        element_text_ += "[]";
    else
        element_text_ += json::serialize(*value);
    if (!reader_->field({field_name_, value, string, std::string_view(element_text_).substr(start)}))
        element_text_.resize(mark);
}

bool json_dump_parser::bounds_lost(error_code& ec)
{
    failure_ = "internal failure: the answer's elements were not where the parser found them";
    ec = element_error_ = make_error_code(errc::server_error);
    return false;
}

void json_dump_parser::copy_element_text(std::uint64_t end)
{
    const std::uint64_t from = std::max(element_begin_, chunk_offset_);
    element_text_.append(chunk_.data() + (from - chunk_offset_), static_cast<std::size_t>(end - from));
}

void json_dump_parser::element_bounds::reset()
{
    begins_.clear();
    ends_.clear();
    begins_taken_ = ends_taken_ = 0;
    depth_ = 0;
    in_string_ = escaped_ = false;
}

void json_dump_parser::element_bounds::bracket(char c, std::uint64_t at)
{
    switch (c) {
    case '{':
        if (++depth_ == 3)
            begins_.push_back(at);
        break;
    case '[':
        ++depth_;
        break;
    case '}':
        if (depth_-- == 3)
            ends_.push_back(at + 1);
        break;
    default:  // ']'
        --depth_;
        break;
    }
}

void json_dump_parser::element_bounds::scan(std::string_view piece, std::uint64_t offset)
{
    // What the sink has taken is dropped: at most the element still open stays.
    begins_.erase(begins_.begin(), begins_.begin() + static_cast<std::ptrdiff_t>(begins_taken_));
    ends_.erase(ends_.begin(), ends_.begin() + static_cast<std::ptrdiff_t>(ends_taken_));
    begins_taken_ = ends_taken_ = 0;

    const char* const data = piece.data();
    const std::size_t size = piece.size();
    std::size_t i = 0;
#if defined(__SSE2__)
    // 64 bytes at a time, as simdjson finds a document's structure: masks of the quotes,
    // backslashes and brackets; the characters escaped by an odd run of backslashes; the
    // bytes inside strings as the running XOR of the unescaped quotes. A byte at a time
    // cost ten instructions a byte, as much as writing the text anew.
    const __m128i backslash = _mm_set1_epi8('\\'), quote = _mm_set1_epi8('"');
    // '{' and '[' (and '}' and ']') differ only in the bit 0x20: one compare finds both.
    const __m128i case_bit = _mm_set1_epi8(0x20), opening = _mm_set1_epi8('{'), closing = _mm_set1_epi8('}');
    const auto bits = [](__m128i matches, int lane) {
        return static_cast<std::uint64_t>(static_cast<std::uint16_t>(_mm_movemask_epi8(matches))) << (16 * lane);
    };
    std::uint64_t escaped_carry = escaped_ ? 1 : 0;
    std::uint64_t string_carry = in_string_ ? ~std::uint64_t(0) : 0;
    for (; i + 64 <= size; i += 64) {
        std::uint64_t backslashes = 0, quotes = 0, brackets = 0;
        for (int lane = 0; lane < 4; ++lane) {
            const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(data + i + 16 * lane));
            backslashes |= bits(_mm_cmpeq_epi8(v, backslash), lane);
            quotes |= bits(_mm_cmpeq_epi8(v, quote), lane);
            const __m128i folded = _mm_or_si128(v, case_bit);
            brackets |= bits(_mm_or_si128(_mm_cmpeq_epi8(folded, opening), _mm_cmpeq_epi8(folded, closing)), lane);
        }

        // The characters that follow an odd run of backslashes (simdjson's find_escaped);
        // most blocks have no backslash at all.
        std::uint64_t escaped = 0;
        if (backslashes | escaped_carry) {
            constexpr std::uint64_t even_bits = 0x5555555555555555ull, odd_bits = ~even_bits;
            const std::uint64_t starts = backslashes & ~(backslashes << 1);
            const std::uint64_t even_start_mask = even_bits ^ escaped_carry;
            const std::uint64_t even_starts = starts & even_start_mask;
            const std::uint64_t odd_starts = starts & ~even_start_mask;
            const std::uint64_t even_carries = backslashes + even_starts;
            std::uint64_t odd_carries = 0;
            const bool ends_odd = __builtin_add_overflow(backslashes, odd_starts, &odd_carries);
            odd_carries |= escaped_carry;
            escaped_carry = ends_odd ? 1 : 0;
            escaped = ((even_carries & ~backslashes) & odd_bits) | ((odd_carries & ~backslashes) & even_bits);
        }

        std::uint64_t inside = quotes & ~escaped;  // the quotes that open or close strings
        inside ^= inside << 1;
        inside ^= inside << 2;
        inside ^= inside << 4;
        inside ^= inside << 8;
        inside ^= inside << 16;
        inside ^= inside << 32;
        inside ^= string_carry;
        string_carry = static_cast<std::uint64_t>(static_cast<std::int64_t>(inside) >> 63);

        for (std::uint64_t b = brackets & ~inside; b != 0; b &= b - 1) {
            const auto at = static_cast<std::size_t>(__builtin_ctzll(b));
            bracket(data[i + at], offset + i + at);
        }
    }
    escaped_ = escaped_carry != 0;
    in_string_ = string_carry != 0;
#endif
    // The rest (all of it without SSE2) a byte at a time.
    for (; i < size; ++i) {
        const char c = data[i];
        if (in_string_) {
            if (escaped_)
                escaped_ = false;
            else if (c == '\\')
                escaped_ = true;
            else if (c == '"')
                in_string_ = false;
            continue;
        }
        if (c == '"')
            in_string_ = true;
        else if (c == '{' || c == '}' || c == '[' || c == ']')
            bracket(c, offset + i);
    }
}

bool json_dump_parser::element_bounds::next_begin(std::uint64_t& at)
{
    if (begins_taken_ == begins_.size())
        return false;
    at = begins_[begins_taken_++];
    return true;
}

bool json_dump_parser::element_bounds::next_end(std::uint64_t& at)
{
    if (ends_taken_ == ends_.size())
        return false;
    at = ends_[ends_taken_++];
    return true;
}

void json_dump_parser::append_string_text(std::string_view s)
{
    // The parser hands a string over where it lies in the input only when it came whole and
    // without an escape: its text there, quoted, is its JSON text as it is. Only the others
    // are escaped again.
    if (in_chunk(s)) {
        element_text_ += '"';
        element_text_.append(s.data(), s.size());
        element_text_ += '"';
    } else {
        append_json_string(element_text_, s);
    }
}

json::value_stack& json_dump_parser::nested()
{
    if (!nested_begun_) {
        nested_.reset();
        nested_begun_ = true;
    }
    return nested_;
}

error_code json_dump_parser::element_not_an_object()
{
    element_error_ = reader_->not_an_object(element_key_, failure_);
    element_key_.clear();
    return element_error_;
}

bool json_dump_parser::handler::begin_container(bool object, error_code& ec)
{
    ++sink.depth_;
    if (sink.verbatim_ && object && sink.depth_ == 3) {
        std::uint64_t at = 0;
        if (!sink.bounds_.next_begin(at))
            return sink.bounds_lost(ec);
        if (sink.place_ == place::member)
            sink.element_begin_ = at;  // an element, begun below
    }
    switch (sink.place_) {
    case place::element:
        // Not begun until something is in it: a person's five lists are mostly empty.
        sink.place_ = place::nested;
        sink.inner_depth_ = 1;
        sink.nested_begun_ = false;
        break;
    case place::nested:
        sink.nested();
        ++sink.inner_depth_;
        break;
    case place::skipping:
        ++sink.inner_depth_;
        break;
    case place::member:
        if (object) {
            sink.begin_element(sink.element_key_);
        } else {
            sink.place_ = place::skipping;
            sink.inner_depth_ = 1;
        }
        break;
    case place::outside:
        if (sink.depth_ == 2 && object == (sink.kind_ == container::object)) {
            const auto at = std::find(sink.members_.begin(), sink.members_.end(), sink.top_key_);
            if (at != sink.members_.end()) {
                sink.streamed_members_ |= std::uint32_t(1) << (at - sink.members_.begin());
                if (sink.unit_ == unit::member)
                    sink.begin_element(sink.top_key_);
                else
                    sink.place_ = place::member;
            }
        }
        break;
    }
    return true;
}

void json_dump_parser::begin_element(std::string_view key)
{
    place_ = place::element;
    if (wants_text_) {
        element_text_.clear();  // its room is kept from one element to the next
        if (!verbatim_)
            element_text_ += '{';
    }
    reader_->begin(key);
}

bool json_dump_parser::handler::end_container(bool object, std::size_t n, error_code& ec)
{
    --sink.depth_;
    if (sink.verbatim_ && object && sink.depth_ == 2) {
        std::uint64_t end = 0;
        if (!sink.bounds_.next_end(end))
            return sink.bounds_lost(ec);
        if (sink.place_ == place::element)
            sink.copy_element_text(end);
    }
    switch (sink.place_) {
    case place::nested:
        if (--sink.inner_depth_ == 0 && !sink.nested_begun_) {
            sink.place_ = place::element;
            const json::value empty = object ? json::value(json::object()) : json::value(json::array());
            sink.deliver_field(&empty, {}, {});
            return true;
        }
        if (object)
            sink.nested_.push_object(n);
        else
            sink.nested_.push_array(n);
        if (sink.inner_depth_ == 0) {
            sink.place_ = place::element;
            const json::value v = sink.nested_.release();
            sink.deliver_field(&v, {}, {});
        }
        return true;
    case place::skipping:
        if (--sink.inner_depth_ == 0) {
            sink.place_ = place::member;
            ec = sink.element_not_an_object();
        }
        return !ec;
    case place::element:
        if (sink.unit_ == unit::member) {
            sink.place_ = place::outside;
            sink.rest_.push_object(0);  // the member, handed over already
        } else {
            sink.place_ = place::member;
        }
        if (sink.wants_text_ && !sink.verbatim_)
            sink.element_text_ += '}';
        sink.element_error_ = sink.reader_->end(sink.element_text_, sink.failure_);
        sink.element_key_.clear();
        ec = sink.element_error_;
        return !ec;
    case place::member:
        // The streamed member itself: what it held has been handed over already.
        sink.place_ = place::outside;
        if (object)
            sink.rest_.push_object(0);
        else
            sink.rest_.push_array(0);
        return true;
    case place::outside:
        if (object)
            sink.rest_.push_object(n);
        else
            sink.rest_.push_array(n);
        return true;
    }
    return true;
}

bool json_dump_parser::handler::key(json::string_view s, std::size_t n, bool last, error_code& ec)
{
    switch (sink.place_) {
    case place::element:
        // A name that came whole from the input is used where it is, not copied: it holds no
        // escape (the parser unescapes into a buffer of its own), and write() copies it if
        // the chunk ends before its value does. Most fields are read in the chunk they start.
        if (last && n == s.size() && sink.in_chunk(s)) {
            sink.field_name_ = s;
        } else {
            gather(sink.field_, s, n);
            sink.field_name_ = sink.field_;
        }
        return true;
    case place::nested:
        if (last)
            sink.nested().push_key(s);
        else
            sink.nested().push_chars(s);
        return true;
    case place::skipping:
        return true;
    case place::member:
        gather(sink.element_key_, s, n);
        return true;
    case place::outside:
        if (sink.depth_ == 1) {
            gather(sink.top_key_, s, n);
            const auto at = std::find(sink.members_.begin(), sink.members_.end(), sink.top_key_);
            if (last && at != sink.members_.end() &&
                (sink.streamed_members_ >> (at - sink.members_.begin()) & 1)) {
                sink.failure_ = "unexpected answer: `" + sink.top_key_ + "` twice";
                ec = sink.element_error_ = make_error_code(errc::server_error);
                return false;
            }
        }
        if (last)
            sink.rest_.push_key(s);
        else
            sink.rest_.push_chars(s);
        return true;
    }
    return true;
}

template <class Push>
bool json_dump_parser::handler::scalar(Push push, const json::value* value, std::string_view string,
                                     std::string_view text, error_code& ec)
{
    switch (sink.place_) {
    case place::element:
        sink.deliver_field(value, string, text);
        return true;
    case place::nested:
        push(sink.nested());
        return true;
    case place::skipping:
        return true;
    case place::member:
        ec = sink.element_not_an_object();
        return !ec;
    case place::outside:
        push(sink.rest_);
        return true;
    }
    return true;
}

bool json_dump_parser::handler::on_string_part(json::string_view s, std::size_t n, error_code&)
{
    switch (sink.place_) {
    case place::element:
        gather(sink.string_, s, n);
        break;
    case place::nested:
        sink.nested().push_chars(s);
        break;
    case place::outside:
        sink.rest_.push_chars(s);
        break;
    case place::member:
    case place::skipping:
        break;
    }
    return true;
}

bool json_dump_parser::handler::on_string(json::string_view s, std::size_t n, error_code& ec)
{
    std::string_view whole = s;
    if (sink.place_ == place::element && n != s.size()) {
        sink.string_.append(s.data(), s.size());
        whole = sink.string_;
    }
    return scalar([s](json::value_stack& st) { st.push_string(s); }, nullptr, whole, {}, ec);
}

bool json_dump_parser::handler::on_number_part(json::string_view s, error_code&)
{
    if (sink.place_ == place::element && sink.wants_text_)
        sink.number_.append(s.data(), s.size());
    return true;
}

std::string_view json_dump_parser::handler::number_text(json::string_view last)
{
    if (sink.place_ != place::element || !sink.wants_text_)
        return {};
    if (sink.number_.empty())
        return last;
    sink.number_.append(last.data(), last.size());
    return sink.number_;
}

template <class Push>
bool json_dump_parser::handler::number(Push push, const json::value& value, json::string_view last, error_code& ec)
{
    const bool ok = scalar(push, &value, {}, number_text(last), ec);
    sink.number_.clear();
    return ok;
}

bool json_dump_parser::handler::on_int64(std::int64_t v, json::string_view s, error_code& ec)
{
    return number([v](json::value_stack& st) { st.push_int64(v); }, json::value(v), s, ec);
}

bool json_dump_parser::handler::on_uint64(std::uint64_t v, json::string_view s, error_code& ec)
{
    return number([v](json::value_stack& st) { st.push_uint64(v); }, json::value(v), s, ec);
}

bool json_dump_parser::handler::on_double(double v, json::string_view s, error_code& ec)
{
    return number([v](json::value_stack& st) { st.push_double(v); }, json::value(v), s, ec);
}

bool json_dump_parser::handler::on_bool(bool v, error_code& ec)
{
    const json::value value(v);
    return scalar([v](json::value_stack& st) { st.push_bool(v); }, &value, {}, v ? "true" : "false", ec);
}

bool json_dump_parser::handler::on_null(error_code& ec)
{
    const json::value value;
    return scalar([](json::value_stack& st) { st.push_null(); }, &value, {}, "null", ec);
}

} // namespace fedora::fas::detail
