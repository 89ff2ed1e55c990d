package iamapi

import (
	"context"

	"github.com/slipway-ml/slipway/internal/awsapi"
	"github.com/slipway-ml/slipway/internal/awsapi/apicall"
)

type serviceLinkedIn struct {
	AWSServiceName string
	Description    string
	CustomSuffix   string
	RoleName       string
	DeletionTaskId string
}

func (a *API) createServiceLinkedRole(ctx context.Context, req *awsapi.Request, in *serviceLinkedIn) (any, error) {
	p, err := a.Identity.CreateServiceLinkedRole(ctx, apicall.Call(req), in.AWSServiceName, in.Description, in.CustomSuffix)
	if err != nil {
		return nil, err
	}
	return struct{ Role roleWire }{roleOut(p)}, nil
}

func (a *API) deleteServiceLinkedRole(ctx context.Context, req *awsapi.Request, in *serviceLinkedIn) (any, error) {
	task, err := a.Identity.DeleteServiceLinkedRole(ctx, apicall.Call(req), in.RoleName)
	if err != nil {
		return nil, err
	}
	return struct{ DeletionTaskId string }{task}, nil
}

type roleUsageWire struct {
	Region    string
	Resources []string
}

type deletionReasonWire struct {
	Reason        string          `json:",omitempty"`
	RoleUsageList []roleUsageWire `json:",omitempty"`
}

func (a *API) getServiceLinkedRoleDeletionStatus(ctx context.Context, req *awsapi.Request, in *serviceLinkedIn) (any, error) {
	st, err := a.Identity.ServiceLinkedRoleDeletionStatus(ctx, apicall.Call(req), in.DeletionTaskId)
	if err != nil {
		return nil, err
	}
	out := struct {
		Status string
		Reason *deletionReasonWire `json:",omitempty"`
	}{Status: st.Status}
	if st.Status == "FAILED" {
		out.Reason = &deletionReasonWire{Reason: st.Reason}
		if len(st.Usage) > 0 {
			out.Reason.RoleUsageList = []roleUsageWire{{Region: req.Region, Resources: st.Usage}}
		}
	}
	return out, nil
}
