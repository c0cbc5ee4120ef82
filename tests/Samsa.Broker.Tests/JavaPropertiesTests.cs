using Samsa.Broker.Config;

namespace Samsa.Broker.Tests;

public class JavaPropertiesTests
{
    private static Dictionary<string, string> Parse(string text) => JavaProperties.Parse(text).ToDictionary(p => p.Key, p => p.Value);

    [Fact]
    public void Parse_CommentsAndBlankLines_AreSkipped()
    {
        var parsed = Parse("# a comment\n! another\n\n   \t\nkey=value\n  # indented comment\n");
        Assert.Equal(new Dictionary<string, string> { ["key"] = "value" }, parsed);
    }

    [Fact]
    public void Parse_SeparatorForms_AllGiveKeyAndValue()
    {
        var parsed = Parse("a=1\nb: 2\nc 3\nd = 4\ne\t:\t5\nf\ng=\n");
        Assert.Equal("1", parsed["a"]);
        Assert.Equal("2", parsed["b"]);
        Assert.Equal("3", parsed["c"]);
        Assert.Equal("4", parsed["d"]);
        Assert.Equal("5", parsed["e"]);
        Assert.Equal("", parsed["f"]);
        Assert.Equal("", parsed["g"]);
    }

    [Fact]
    public void Parse_ValueKeepsLaterSeparatorsAndTrailingSpace()
    {
        var parsed = Parse("listeners=PLAINTEXT://:9092,CONTROLLER://:9093\nmap=A:B=C \n");
        Assert.Equal("PLAINTEXT://:9092,CONTROLLER://:9093", parsed["listeners"]);
        Assert.Equal("A:B=C ", parsed["map"]);
    }

    [Fact]
    public void Parse_Escapes_AreDecoded()
    {
        var parsed = Parse("key\\ with\\:colon=tab\\there\\nnew\\u0041\\\\end\\q\n");
        Assert.Equal("tab\there\nnewA\\endq", parsed["key with:colon"]);
    }

    [Fact]
    public void Parse_LineContinuation_JoinsAndDropsLeadingWhitespace()
    {
        var parsed = Parse("log.dirs=/a,\\\n    /b,\\\r\n\t/c\nnext=1\r\n");
        Assert.Equal("/a,/b,/c", parsed["log.dirs"]);
        Assert.Equal("1", parsed["next"]);
    }

    [Fact]
    public void Parse_EvenTrailingBackslashes_DoNotContinue()
    {
        var parsed = Parse("a=x\\\\\nb=y\n");
        Assert.Equal("x\\", parsed["a"]);
        Assert.Equal("y", parsed["b"]);
    }

    [Fact]
    public void Parse_RepeatedKey_LastWins()
    {
        var parsed = JavaProperties.Parse("a=1\nb=2\na=3\n");
        Assert.Equal([new("a", "3"), new("b", "2")], parsed);
    }

    [Fact]
    public void Parse_MalformedUnicodeEscape_Throws()
    {
        var error = Assert.Throws<ConfigException>(() => JavaProperties.Parse("a=\\u12G4\n"));
        Assert.Contains("line 1", error.Message);
    }

    [Fact]
    public void Write_ThenParse_RoundTripsAwkwardText()
    {
        var entries = new KeyValuePair<string, string>[] { new("k=ey:#!", " lead\ttab\nnew\\é") };
        var text = JavaProperties.Write(entries, "", DateTimeOffset.UnixEpoch);
        Assert.StartsWith("#\n#Thu Jan 01 00:00:00 UTC 1970\n", text);
        Assert.Equal(entries, JavaProperties.Parse(text));
    }
}
