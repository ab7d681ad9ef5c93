{{/* Chart name, overridable with nameOverride. */}}
{{- define "asyncso.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified app name: release-chart, or fullnameOverride; 63 chars (DNS label). */}}
{{- define "asyncso.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "asyncso.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "asyncso.labels" -}}
helm.sh/chart: {{ include "asyncso.chart" . }}
{{ include "asyncso.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Labels that select the operator pods (immutable once deployed). */}}
{{- define "asyncso.selectorLabels" -}}
app.kubernetes.io/name: {{ include "asyncso.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "asyncso.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "asyncso.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "asyncso.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/* The Lease name: --leader-election-id from extraArgs, else ESO's default. */}}
{{- define "asyncso.leaderElectionID" -}}
{{- index .Values.extraArgs "leader-election-id" | default "external-secrets-controller" }}
{{- end }}

{{/* True ("true") when ClusterSecretStores are reconciled. */}}
{{- define "asyncso.clusterStores" -}}
{{- if and .Values.processClusterStore (not (and .Values.scopedNamespace .Values.scopedRBAC)) }}true{{ end }}
{{- end }}

{{/* True ("true") when ClusterExternalSecrets / ClusterPushSecrets are reconciled: both are
cluster-wide, so never with scopedRBAC (as in ESO's chart). */}}
{{- define "asyncso.clusterExternalSecrets" -}}
{{- if and .Values.processClusterExternalSecret (not (and .Values.scopedNamespace .Values.scopedRBAC)) }}true{{ end }}
{{- end }}
{{- define "asyncso.clusterPushSecrets" -}}
{{- if and .Values.processClusterPushSecret (not (and .Values.scopedNamespace .Values.scopedRBAC)) }}true{{ end }}
{{- end }}

{{/* Container args, one per line. Boolean flags use the forms `asyncso run` parses
(--flag / --no-flag); everything else is --key=value, as in ESO's chart. */}}
{{- define "asyncso.args" -}}
- run
- --log-level={{ .Values.log.level }}
- --log-format={{ .Values.log.format }}
- --metrics-addr=:{{ .Values.metrics.listen.port }}
- --live-addr=:{{ .Values.livenessProbe.spec.httpGet.port }}
{{- if .Values.leaderElect }}
- --enable-leader-election
- --leader-election-namespace=$(POD_NAMESPACE)
{{- end }}
{{- if .Values.scopedNamespace }}
- {{ printf "--namespace=%s" .Values.scopedNamespace | quote }}
{{- end }}
{{- if not (include "asyncso.clusterStores" .) }}
- --no-enable-cluster-store-reconciler
{{- end }}
{{- if not (include "asyncso.clusterExternalSecrets" .) }}
- --no-enable-cluster-external-secret-reconciler
{{- end }}
{{- if not .Values.processPushSecret }}
- --no-enable-push-secret-reconciler
{{- end }}
{{- if not (include "asyncso.clusterPushSecrets" .) }}
- --no-enable-cluster-push-secret-reconciler
{{- end }}
{{- if .Values.controllerClass }}
- {{ printf "--controller-class=%s" .Values.controllerClass | quote }}
{{- end }}
{{- if .Values.concurrent }}
- --concurrent={{ .Values.concurrent }}
{{- end }}
{{- if .Values.genericTargets.enabled }}
- --unsafe-allow-generic-targets
{{- end }}
{{- range $key, $value := .Values.extraArgs }}
{{- if kindIs "bool" $value }}
- --{{ if not $value }}no-{{ end }}{{ $key }}
{{- else if or (kindIs "invalid" $value) (eq (toString $value) "") }}
- --{{ $key }}
{{- else }}
- {{ printf "--%s=%v" $key $value | quote }}
{{- end }}
{{- end }}
{{- end }}
