using System.Text;

namespace Samsa.Protocol.Generator;

/// <summary>Indentation-aware text builder for generated C#.</summary>
public sealed class CodeWriter
{
    private readonly StringBuilder _text = new();
    private int _indent;

    public CodeWriter Line(string line = "")
    {
        if (line.Length == 0)
        {
            _text.Append('\n');
            return this;
        }
        _text.Append(' ', _indent * 4).Append(line).Append('\n');
        return this;
    }

    public CodeWriter Open(string line)
    {
        if (line.Length > 0)
        {
            Line(line);
        }
        Line("{");
        _indent++;
        return this;
    }

    public CodeWriter Close(string suffix = "")
    {
        _indent--;
        Line("}" + suffix);
        return this;
    }

    /// <summary>Writes <paramref name="body"/> under <c>if (condition)</c>, or plainly when the condition is always true.</summary>
    public void If(string condition, Action body)
    {
        if (condition == "false")
        {
            return;
        }
        if (condition == "true")
        {
            body();
            return;
        }
        Open($"if ({condition})");
        body();
        Close();
    }

    /// <summary>if/else on a condition, collapsing to one branch when it is constant.</summary>
    public void IfElse(string condition, Action then, Action otherwise)
    {
        switch (condition)
        {
            case "true":
                then();
                return;
            case "false":
                otherwise();
                return;
        }
        Open($"if ({condition})");
        then();
        Close();
        Open("else");
        otherwise();
        Close();
    }

    public override string ToString() => _text.ToString();
}
