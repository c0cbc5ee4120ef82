using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Broker.Security.Sasl;

/// <summary>
/// The client side of a SASL exchange on a Kafka connection (Kafka's <c>SaslClientAuthenticator</c>): SaslHandshake
/// v1, then SaslAuthenticate v2 until the mechanism completes. The caller supplies the request/response round trip,
/// so the CLI's wire client and the broker's inter-node client share it. Throws <see cref="SaslAuthenticationException"/>
/// with the broker's message when authentication fails.
/// </summary>
public static class SaslClientAuthenticator
{
    public static async Task AuthenticateAsync(ISaslClient sasl,
        Func<SaslHandshakeRequest, Task<SaslHandshakeResponse>> handshake,
        Func<SaslAuthenticateRequest, Task<SaslAuthenticateResponse>> authenticate)
    {
        var agreed = await handshake(new SaslHandshakeRequest { Mechanism = sasl.MechanismName });
        if (agreed.ErrorCode != 0)
        {
            throw new SaslAuthenticationException($"Unsupported SASL mechanism {sasl.MechanismName}: the broker offers {string.Join(", ", agreed.Mechanisms)}");
        }
        var token = sasl.InitialResponse();
        while (true)
        {
            var response = await authenticate(new SaslAuthenticateRequest { AuthBytes = token });
            if (response.ErrorCode != 0)
            {
                throw new SaslAuthenticationException(response.ErrorMessage ?? ErrorCodes.DefaultMessage((ErrorCode)response.ErrorCode) ?? "SASL authentication failed");
            }
            token = sasl.IsComplete && response.AuthBytes.Length == 0 ? [] : sasl.EvaluateChallenge(response.AuthBytes);
            if (sasl.IsComplete)
            {
                return;
            }
        }
    }
}
