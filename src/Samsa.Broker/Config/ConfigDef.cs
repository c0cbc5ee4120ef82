using System.Globalization;

namespace Samsa.Broker.Config;

/// <summary>Value types of broker configs, as Kafka's <c>ConfigDef.Type</c>.</summary>
public enum ConfigType
{
    Boolean,
    Short,
    Int,
    Long,
    Double,
    String,
    List,
    Password,
    Class,
}

/// <summary>Kafka's <c>ConfigDef.Importance</c>.</summary>
public enum ConfigImportance
{
    High,
    Medium,
    Low,
}

/// <summary>
/// Kafka's "Dynamic update mode" of a broker config (<c>DynamicBrokerConfig.dynamicConfigUpdateModes</c>):
/// read-only needs a restart; per-broker may be set for one broker only (SSL, SASL, listeners); cluster-wide may
/// be set as the cluster default ("" resource) or, for testing, for one broker.
/// </summary>
public enum ConfigUpdateMode
{
    ReadOnly,
    PerBroker,
    ClusterWide,
}

/// <summary>Checks a parsed value; throws <see cref="ConfigException"/> naming the key.</summary>
public interface IConfigValidator
{
    void Ensure(string name, object? value);

    /// <summary>Human-readable constraint for docs, e.g. <c>[1,...]</c>.</summary>
    string Describe();
}

/// <summary>Numeric range, inclusive, like Kafka's <c>ConfigDef.Range</c>; <paramref name="orEqualTo"/> is one more allowed value (gzip's -1).</summary>
public sealed class RangeValidator(double? min, double? max, double? orEqualTo = null) : IConfigValidator
{
    public static RangeValidator AtLeast(double min) => new(min, null);

    public static RangeValidator Between(double min, double max) => new(min, max);

    public void Ensure(string name, object? value)
    {
        if (value is null)
        {
            return;
        }
        var number = Convert.ToDouble(value, CultureInfo.InvariantCulture);
        if (orEqualTo == number)
        {
            return;
        }
        if (min is { } low && number < low)
        {
            throw ConfigException.InvalidValue(name, value, $"Value must be at least {Format(low)}");
        }
        if (max is { } high && number > high)
        {
            throw ConfigException.InvalidValue(name, value, $"Value must be no more than {Format(high)}");
        }
    }

    private static string Format(double value) => value.ToString(CultureInfo.InvariantCulture);

    public string Describe() => $"[{(min is { } low ? Format(low) : "...")},{(max is { } high ? Format(high) : "...")}]" + (orEqualTo is { } extra ? $" or {Format(extra)}" : "");
}

/// <summary>One of a fixed set of strings (Kafka compares these case-sensitively unless told otherwise).</summary>
public sealed class ValidStringValidator(bool ignoreCase, params string[] allowed) : IConfigValidator
{
    public void Ensure(string name, object? value)
    {
        if (value is string text && !allowed.Contains(text, ignoreCase ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal))
        {
            throw ConfigException.InvalidValue(name, value, $"String must be one of: {string.Join(", ", allowed)}");
        }
    }

    public string Describe() => "[" + string.Join(", ", allowed) + "]";
}

/// <summary>Kafka's <c>ConfigDef.NonEmptyString</c>: null is allowed, "" is not.</summary>
public sealed class NonEmptyStringValidator : IConfigValidator
{
    public void Ensure(string name, object? value)
    {
        if (value is string { Length: 0 })
        {
            throw ConfigException.InvalidValue(name, value, "String must be non-empty");
        }
    }

    public string Describe() => "non-empty string";
}

/// <summary>A list whose every item is one of a fixed set.</summary>
public sealed class ValidListValidator(params string[] allowed) : IConfigValidator
{
    public void Ensure(string name, object? value)
    {
        if (value is not IReadOnlyList<string> items)
        {
            return;
        }
        foreach (var item in items)
        {
            if (!allowed.Contains(item, StringComparer.Ordinal))
            {
                throw ConfigException.InvalidValue(name, string.Join(",", items), $"Invalid value {item}; must be one of: {string.Join(", ", allowed)}");
            }
        }
    }

    public string Describe() => "[" + string.Join(", ", allowed) + "]";
}

/// <summary>One broker config: Kafka's name, type, importance, dynamic update mode, default (already typed), validator and doc line.</summary>
/// <param name="KafkaDefault">Kafka's default when ours differs (documented divergence), else null.</param>
public sealed record ConfigKey(string Name, ConfigType Type, ConfigImportance Importance, ConfigUpdateMode Mode, object? Default, IConfigValidator? Validator,
    string Doc, string? KafkaDefault = null)
{
    /// <summary>Parses text the way Kafka's <c>ConfigDef.parseType</c> does: trimmed, case-insensitive booleans, comma lists.</summary>
    public object? Parse(string raw)
    {
        var text = raw.Trim();
        try
        {
            return Type switch
            {
                ConfigType.Boolean => text.Equals("true", StringComparison.OrdinalIgnoreCase) ? true
                    : text.Equals("false", StringComparison.OrdinalIgnoreCase) ? false
                    : throw ConfigException.InvalidValue(Name, raw, "Expected value to be either true or false"),
                ConfigType.Short => short.Parse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture),
                ConfigType.Int => int.Parse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture),
                ConfigType.Long => long.Parse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture),
                ConfigType.Double => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture),
                ConfigType.List => SplitList(text),
                ConfigType.Password => raw,
                _ => text,
            };
        }
        catch (Exception e) when (e is FormatException or OverflowException)
        {
            throw ConfigException.InvalidValue(Name, raw, $"Not a number of type {Type.ToString().ToUpperInvariant()}");
        }
    }

    public static IReadOnlyList<string> SplitList(string text) =>
        text.Length == 0 ? [] : text.Split(',', StringSplitOptions.TrimEntries);
}
