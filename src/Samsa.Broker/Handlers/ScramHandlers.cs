using Samsa.Broker.Security;
using Samsa.Metadata.Controller;
using Samsa.Metadata.Image;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Broker.Handlers;

/// <summary>
/// DescribeUserScramCredentials (key 50), version 0 (KIP-554), answered from the broker's metadata image as Kafka's
/// KRaft brokers do (<c>ScramImage.describe</c>): the mechanisms and iteration counts of the named users, or of every
/// user when the list is null or empty; never salts or keys. Needs DESCRIBE on the CLUSTER, else the whole request
/// fails with CLUSTER_AUTHORIZATION_FAILED.
/// </summary>
public sealed class DescribeUserScramCredentialsHandler(MetadataCache metadata)
    : ApiHandler<DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse>
{
    public override ApiKey ApiKey => ApiKey.DescribeUserScramCredentials;

    public override short MinVersion => 0;

    public override short MaxVersion => 0;

    protected override ValueTask<DescribeUserScramCredentialsResponse?> HandleAsync(RequestContext context, DescribeUserScramCredentialsRequest request, CancellationToken cancellationToken)
    {
        if (!context.AuthorizeCluster(AclOperation.Describe))
        {
            return ValueTask.FromResult<DescribeUserScramCredentialsResponse?>(ErrorResponse(context, request, ErrorCode.ClusterAuthorizationFailed));
        }
        return ValueTask.FromResult<DescribeUserScramCredentialsResponse?>(Describe(metadata.Current, request));
    }

    public static DescribeUserScramCredentialsResponse Describe(MetadataImage image, DescribeUserScramCredentialsRequest request)
    {
        // User -> named more than once; insertion order keeps the answer in the request's order.
        var users = new Dictionary<string, bool>(StringComparer.Ordinal);
        if (request.Users is not { Count: > 0 })
        {
            foreach (var user in image.ScramCredentials.Keys)
            {
                users[user] = false;
            }
        }
        else
        {
            foreach (var user in request.Users)
            {
                users[user.Name] = users.ContainsKey(user.Name);
            }
        }
        var response = new DescribeUserScramCredentialsResponse { ErrorMessage = null };
        foreach (var (user, duplicated) in users)
        {
            var result = new DescribeUserScramCredentialsResponse.DescribeUserScramCredentialsResult { User = user, ErrorMessage = null };
            if (duplicated)
            {
                result.ErrorCode = (short)ErrorCode.DuplicateResource;
                result.ErrorMessage = $"Cannot describe SCRAM credentials for the same user twice in a single request: {user}";
            }
            else if (image.ScramCredentials.TryGetValue(user, out var byMechanism) && !byMechanism.IsEmpty)
            {
                result.CredentialInfos = [.. byMechanism.Select(c => new DescribeUserScramCredentialsResponse.CredentialInfo { Mechanism = (sbyte)c.Key, Iterations = c.Value.Iterations })];
            }
            else
            {
                result.ErrorCode = (short)ErrorCode.ResourceNotFound;
                result.ErrorMessage = "Attempt to describe a user credential that does not exist";
            }
            response.Results.Add(result);
        }
        return response;
    }

    protected override DescribeUserScramCredentialsResponse ErrorResponse(RequestContext context, DescribeUserScramCredentialsRequest request, ErrorCode error) =>
        new() { ErrorCode = (short)error, ErrorMessage = ErrorCodes.DefaultMessage(error) };
}

/// <summary>
/// AlterUserScramCredentials (key 51), version 0 (KIP-554), on broker listeners (forwarded to the active controller,
/// as Kafka's KRaft brokers do) and on the controller listener: upsertions carry a salt and a salted password, which
/// the controller turns into StoredKey and ServerKey (<see cref="ScramControlManager"/>). Needs ALTER on the CLUSTER,
/// else every user is answered CLUSTER_AUTHORIZATION_FAILED.
/// </summary>
public sealed class AlterUserScramCredentialsHandler(IController controller)
    : ApiHandler<AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse>
{
    public override ApiKey ApiKey => ApiKey.AlterUserScramCredentials;

    public override short MinVersion => 0;

    public override short MaxVersion => 0;

    protected override async ValueTask<AlterUserScramCredentialsResponse?> HandleAsync(RequestContext context, AlterUserScramCredentialsRequest request, CancellationToken cancellationToken)
    {
        if (!context.AuthorizeCluster(AclOperation.Alter))
        {
            return ErrorResponse(context, request, ErrorCode.ClusterAuthorizationFailed);
        }
        return await controller.AlterUserScramCredentialsAsync(request, cancellationToken);
    }

    /// <summary>Kafka's <c>AlterUserScramCredentialsRequest.getErrorResponse</c>: every user named, once, with the error.</summary>
    protected override AlterUserScramCredentialsResponse ErrorResponse(RequestContext context, AlterUserScramCredentialsRequest request, ErrorCode error) => new()
    {
        Results = [.. request.Deletions.Select(d => d.Name).Concat(request.Upsertions.Select(u => u.Name)).Distinct(StringComparer.Ordinal)
            .Select(user => new AlterUserScramCredentialsResponse.AlterUserScramCredentialsResult
            {
                User = user,
                ErrorCode = (short)error,
                ErrorMessage = ErrorCodes.DefaultMessage(error),
            })],
    };
}
