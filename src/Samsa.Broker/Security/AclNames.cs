namespace Samsa.Broker.Security;

/// <summary>
/// Kafka's text for the ACL enums: the Java constant (<c>IDEMPOTENT_WRITE</c>, <c>TRANSACTIONAL_ID</c>) that
/// <c>toString</c> prints in tool output and audit lines, and the Pascal-case name (<c>IdempotentWrite</c>) that
/// <c>SecurityUtils</c> prints for resource types and reads for operations.
/// </summary>
public static class AclNames
{
    /// <summary>The Java enum constant of a value named in Pascal case here: <c>DescribeConfigs</c> → <c>DESCRIBE_CONFIGS</c>.</summary>
    public static string Constant<T>(T value) where T : struct, Enum
    {
        var pascal = value.ToString();
        var text = new System.Text.StringBuilder(pascal.Length + 4);
        for (var i = 0; i < pascal.Length; i++)
        {
            if (i > 0 && char.IsUpper(pascal[i]))
            {
                text.Append('_');
            }
            text.Append(char.ToUpperInvariant(pascal[i]));
        }
        return text.ToString();
    }

    /// <summary>Kafka's <c>SecurityUtils.operation</c>: an operation by name, in any case (<c>Read</c>, <c>read</c>, <c>IDEMPOTENTWRITE</c>).</summary>
    public static AclOperation ParseOperation(string name) =>
        name.Length > 0 && char.IsLetter(name[0]) && Enum.TryParse<AclOperation>(name, ignoreCase: true, out var operation)
            ? operation
            : throw new ArgumentException($"Unknown operation name {name}");

    /// <summary>Kafka's <c>SecurityUtils.resourcePatternTypeName</c> form of a resource on which a decision is made: <c>Topic:LITERAL:foo</c>.</summary>
    public static string Resource(AclResourceType resourceType, string name) => $"{resourceType}:{Constant(PatternType.Literal)}:{name}";
}
