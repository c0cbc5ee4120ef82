namespace Samsa.Protocol.Generator;

/// <summary>An inclusive range of versions as the schemas write them: "N+", "A-B", "N" or "none".</summary>
public readonly record struct Versions(short Lowest, short Highest)
{
    public const short Unbounded = short.MaxValue;

    public static readonly Versions None = new(1, 0);

    public static readonly Versions All = new(0, Unbounded);

    public bool IsEmpty => Lowest > Highest;

    public static Versions Parse(string? text, Versions fallback)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return fallback;
        }
        text = text.Trim();
        if (text == "none")
        {
            return None;
        }
        if (text.EndsWith('+'))
        {
            return new(short.Parse(text[..^1]), Unbounded);
        }
        var dash = text.IndexOf('-');
        if (dash > 0)
        {
            return new(short.Parse(text[..dash]), short.Parse(text[(dash + 1)..]));
        }
        var single = short.Parse(text);
        return new(single, single);
    }

    public bool Contains(short version) => version >= Lowest && version <= Highest;

    public bool Contains(Versions other) => other.IsEmpty || (other.Lowest >= Lowest && other.Highest <= Highest);

    public Versions Intersect(Versions other)
    {
        var result = new Versions(Math.Max(Lowest, other.Lowest), Math.Min(Highest, other.Highest));
        return result.IsEmpty ? None : result;
    }

    /// <summary>
    /// A C# condition on <c>version</c> that holds exactly for this range, simplified for a context in which
    /// the version is already known to lie in <paramref name="context"/>. Returns "true"/"false" when the
    /// answer does not depend on the version there.
    /// </summary>
    public string Condition(Versions context)
    {
        var effective = Intersect(context);
        if (effective.IsEmpty)
        {
            return "false";
        }
        var needLow = effective.Lowest > context.Lowest;
        var needHigh = effective.Highest < context.Highest;
        if (needLow && needHigh)
        {
            return effective.Lowest == effective.Highest
                ? $"version == {effective.Lowest}"
                : $"version >= {effective.Lowest} && version <= {effective.Highest}";
        }
        if (needLow)
        {
            return $"version >= {effective.Lowest}";
        }
        if (needHigh)
        {
            return $"version <= {effective.Highest}";
        }
        return "true";
    }

    public override string ToString() => IsEmpty ? "none" : Highest == Unbounded ? $"{Lowest}+" : Lowest == Highest ? $"{Lowest}" : $"{Lowest}-{Highest}";
}
