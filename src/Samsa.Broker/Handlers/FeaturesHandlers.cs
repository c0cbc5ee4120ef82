using Samsa.Broker.Security;
using Samsa.Metadata.Controller;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Broker.Handlers;

/// <summary>
/// UpdateFeatures (key 57), versions 0-2 (KIP-584, KIP-778), through the controller: every update is checked
/// (<see cref="FeatureControlManager.Update"/>) and all are committed as FeatureLevelRecords, or none.
/// <list type="bullet">
/// <item>v0: allow_downgrade true means a safe downgrade; v1+: upgrade_type (1 upgrade, 2 safe, 3 unsafe downgrade)
/// and validate_only.</item>
/// <item>The outcome is top-level; on success v0-1 also carry one NONE result per feature, on failure none, as
/// Kafka 4.0's <c>UpdateFeaturesResponse.createWithErrors</c>. v2 has no results field.</item>
/// <item>timeout_ms is not used: a quorum of one commits locally.</item>
/// </list>
/// </summary>
public sealed class UpdateFeaturesHandler(IController controller) : ApiHandler<UpdateFeaturesRequest, UpdateFeaturesResponse>
{
    public override ApiKey ApiKey => ApiKey.UpdateFeatures;

    public override short MinVersion => 0;

    public override short MaxVersion => 2;

    protected override AclOperation? RequiredClusterOperation => AclOperation.Alter;

    protected override async ValueTask<UpdateFeaturesResponse?> HandleAsync(RequestContext context, UpdateFeaturesRequest request, CancellationToken cancellationToken)
    {
        var updates = request.FeatureUpdates.Select(u => new FeatureUpdate(u.Feature, u.MaxVersionLevel,
            context.ApiVersion == 0
                ? u.AllowDowngrade ? FeatureUpgradeType.SafeDowngrade : FeatureUpgradeType.Upgrade
                : Enum.IsDefined((FeatureUpgradeType)u.UpgradeType) ? (FeatureUpgradeType)u.UpgradeType : FeatureUpgradeType.Unknown)).ToList();
        var result = await controller.UpdateFeaturesAsync(updates, context.ApiVersion >= 1 && request.ValidateOnly, cancellationToken);
        return Response(request, result.Error, result.Message);
    }

    protected override UpdateFeaturesResponse ErrorResponse(RequestContext context, UpdateFeaturesRequest request, ErrorCode error) =>
        Response(request, error, ErrorCodes.DefaultMessage(error));

    private static UpdateFeaturesResponse Response(UpdateFeaturesRequest request, ErrorCode error, string? message) => new()
    {
        ErrorCode = (short)error,
        ErrorMessage = message,
        Results = error != ErrorCode.None ? [] : request.FeatureUpdates.Select(u => new UpdateFeaturesResponse.UpdatableFeatureResult
        {
            Feature = u.Feature,
            ErrorCode = (short)ErrorCode.None,
            ErrorMessage = null,
        }).ToList(),
    };
}
