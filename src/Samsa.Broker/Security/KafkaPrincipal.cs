namespace Samsa.Broker.Security;

/// <summary>
/// Kafka's <c>KafkaPrincipal</c>: who a connection authenticated as, written <c>Type:Name</c> (<c>User:alice</c>) in
/// ACLs and <c>super.users</c>. PLAINTEXT connections are <c>User:ANONYMOUS</c>; SASL ones the authenticated user
/// name; SSL ones the certificate subject after <c>ssl.principal.mapping.rules</c>.
/// </summary>
public sealed record KafkaPrincipal(string PrincipalType, string Name)
{
    public const string UserType = "User";

    /// <summary>The principal of an unauthenticated connection (PLAINTEXT, or SSL without a client certificate).</summary>
    public static readonly KafkaPrincipal Anonymous = new(UserType, "ANONYMOUS");

    /// <summary>The principal that matches every principal in an ACL binding (<c>User:*</c>).</summary>
    public static readonly KafkaPrincipal Wildcard = new(UserType, "*");

    public static KafkaPrincipal User(string name) => new(UserType, name);

    /// <summary>Parses <c>Type:Name</c> (the name may itself hold colons, as certificate subjects do).</summary>
    public static KafkaPrincipal Parse(string text)
    {
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
        {
            throw new FormatException($"expected a string in format principalType:principalName but got {text}");
        }
        return new KafkaPrincipal(text[..colon], text[(colon + 1)..]);
    }

    public override string ToString() => $"{PrincipalType}:{Name}";
}
