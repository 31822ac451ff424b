package app.fieldcrm.core

/**
 * A minimal JSON reader for the server's small login and error answers (the tests depend on
 * nothing but the Kotlin stdlib, JNA and JUnit). Objects become maps, arrays lists, numbers
 * doubles.
 */
class Json private constructor(private val text: String) {
    private var pos = 0

    companion object {
        fun parse(text: String): Any? {
            val reader = Json(text)
            val value = reader.value()
            reader.space()
            require(reader.pos == text.length) { "trailing characters at ${reader.pos}" }
            return value
        }

        /** The string at a path of object keys, e.g. `path(json, "error", "code")`. */
        fun string(value: Any?, vararg keys: String): String? {
            var current = value
            for (key in keys) current = (current as? Map<*, *>)?.get(key) ?: return null
            return current as? String
        }

        fun quote(s: String): String = buildString {
            append('"')
            for (c in s) when {
                c == '"' -> append("\\\"")
                c == '\\' -> append("\\\\")
                c < ' ' -> append("\\u%04x".format(c.code))
                else -> append(c)
            }
            append('"')
        }

        fun obj(vararg pairs: Pair<String, String>): String =
            pairs.joinToString(",", "{", "}") { (k, v) -> "${quote(k)}:${quote(v)}" }
    }

    private fun space() {
        while (pos < text.length && text[pos].isWhitespace()) pos++
    }

    private fun expect(c: Char) {
        require(pos < text.length && text[pos] == c) { "expected '$c' at $pos" }
        pos++
    }

    private fun value(): Any? {
        space()
        require(pos < text.length) { "unexpected end" }
        return when (val c = text[pos]) {
            '{' -> obj()
            '[' -> array()
            '"' -> string()
            't' -> literal("true", true)
            'f' -> literal("false", false)
            'n' -> literal("null", null)
            else -> if (c == '-' || c.isDigit()) number() else error("unexpected '$c' at $pos")
        }
    }

    private fun literal(word: String, value: Any?): Any? {
        require(text.startsWith(word, pos)) { "expected $word at $pos" }
        pos += word.length
        return value
    }

    private fun number(): Double {
        val start = pos
        while (pos < text.length && (text[pos].isDigit() || text[pos] in "+-.eE")) pos++
        return text.substring(start, pos).toDouble()
    }

    private fun string(): String {
        expect('"')
        val out = StringBuilder()
        while (true) {
            require(pos < text.length) { "unterminated string" }
            when (val c = text[pos++]) {
                '"' -> return out.toString()
                '\\' -> {
                    when (val e = text[pos++]) {
                        'n' -> out.append('\n')
                        't' -> out.append('\t')
                        'r' -> out.append('\r')
                        'b' -> out.append('\b')
                        'f' -> out.append('\u000c')
                        'u' -> {
                            out.append(text.substring(pos, pos + 4).toInt(16).toChar())
                            pos += 4
                        }
                        else -> out.append(e)
                    }
                }
                else -> out.append(c)
            }
        }
    }

    private fun array(): List<Any?> {
        expect('[')
        val items = mutableListOf<Any?>()
        space()
        if (text[pos] == ']') return items.also { pos++ }
        while (true) {
            items.add(value())
            space()
            if (text[pos] == ',') pos++ else break
        }
        expect(']')
        return items
    }

    private fun obj(): Map<String, Any?> {
        expect('{')
        val map = LinkedHashMap<String, Any?>()
        space()
        if (text[pos] == '}') return map.also { pos++ }
        while (true) {
            space()
            val key = string()
            space()
            expect(':')
            map[key] = value()
            space()
            if (text[pos] == ',') pos++ else break
        }
        expect('}')
        return map
    }
}
