"""The lab's own Python stages (lab7-g-research-kfp), as the benchmark's reference.

Usage: python lab.py STAGE DATA_PATH      (STAGE: load_data, feature_engineering,
                                           merge_assets_features, modeling, evaluation_result)

The functions are the lab's, with only the changes current library versions force:
no pip installs inside the functions (the venv has them), `dt.weekofyear` ->
`dt.isocalendar().week`, and lgb.train's removed keywords (early_stopping_rounds,
verbose_eval, evals_result) -> the early_stopping, log_evaluation and
record_evaluation callbacks. Run with TZ=UTC, as the lab's containers are: its
split date goes through time.mktime (local time).
"""
import sys


def load_data(data_path):
    import os, sys, subprocess, pickle;
    import pandas as pd

    TRAIN_CSV = f'{data_path}/train.csv'
    ASSET_DETAILS_CSV = f'{data_path}/asset_details.csv'

    df_train = pd.read_csv(TRAIN_CSV)
    df_asset_details = pd.read_csv(ASSET_DETAILS_CSV).sort_values("Asset_ID")

    df_train['datetime'] = pd.to_datetime(df_train['timestamp'], unit='s')
    df_train = df_train[df_train['datetime'] >= '2020-01-01 00:00:00'].copy()

    with open(f'{data_path}/df_train', 'wb') as f:
        pickle.dump(df_train, f)
    with open(f'{data_path}/df_asset_details', 'wb') as g:
        pickle.dump(df_asset_details, g)
    return(print('-- DATA LOADED --'))


def feature_engineering(data_path):
    import os, pickle, time, talib, datetime;
    import numpy as np
    import pandas as pd
    from tqdm import tqdm

    with open(f'{data_path}/df_train', 'rb') as f:
        df_train = pickle.load(f)

    def RSI(df, n):
        return talib.RSI(df['Close'], n)

    def ATR(df, n):
        return talib.ATR(df["High"], df.Low, df.Close, n)

    def DEMA(data, time_period):
        EMA = data['Close'].ewm(span=time_period, adjust=False).mean()
        DEMA = 2*EMA - EMA.ewm(span=time_period, adjust=False).mean()
        return DEMA

    def upper_shadow(df):
        return df['High'] - np.maximum(df['Close'], df['Open'])

    def lower_shadow(df):
        return np.minimum(df['Close'], df['Open']) - df['Low']

    def get_features(df, asset_id, train=True):
        df = df[df['Asset_ID']==asset_id]
        df = df.sort_values('timestamp')
        if train == True:
            df_feat = df.copy()
            totimestamp = lambda s: np.int32(time.mktime(datetime.datetime.strptime(s, "%d/%m/%Y").timetuple()))
            valid_window = [totimestamp("01/05/2021")]
            df_feat['train_flg'] = np.where(df_feat['timestamp']>=valid_window[0], 0,1)
            df_feat = df_feat[['timestamp','Asset_ID', 'High', 'Low', 'Open', 'Close', 'Volume','Target','train_flg']].copy()
        else:
            df = df.sort_values('row_id')
            df_feat = df[['Asset_ID', 'High', 'Low', 'Open', 'Close', 'Volume','row_id']].copy()

        for i in tqdm([30, 120, 240]):
            df_feat[f'RSI_{i}'] = RSI(df_feat, i)
            df_feat[f'ATR_{i}'] = ATR(df_feat, i)
            df_feat[f'DEMA_{i}'] = DEMA(df_feat, i)

        for i in tqdm([30, 120, 240]):
            df_feat[f'sma_{i}'] = df_feat['Close'].rolling(i).mean()/df_feat['Close'] -1
            df_feat[f'return_{i}'] = df_feat['Close']/df_feat['Close'].shift(i) -1

        df_feat['HL'] = np.log(df_feat['High'] - df_feat['Low'])
        df_feat['OC'] = np.log(df_feat['Close'] - df_feat['Open'])
        df_feat['lower_shadow'] = np.log(lower_shadow(df))
        df_feat['upper_shadow'] = np.log(upper_shadow(df))

        df_feat.replace([np.inf, -np.inf], np.nan, inplace=True)

        df_feat['Date'] = pd.to_datetime(df_feat['timestamp'], unit='s')
        df_feat['Day'] = df_feat['Date'].dt.weekday.astype(np.int32)
        df_feat["dayofyear"] = df_feat['Date'].dt.dayofyear
        df_feat["weekofyear"] = df_feat['Date'].dt.isocalendar().week
        df_feat["season"] = ((df_feat['Date'].dt.month)%12 + 3)//3

        df_feat = df_feat.drop(['Open','Close','High','Low', 'Volume', 'Date'], axis=1)
        df_feat = df_feat.fillna(0)
        return df_feat

    feature_df = pd.DataFrame()
    for i in range(14):
        print(i)
        feature_df = pd.concat([feature_df,get_features(df_train,i,train=True)])

    with open(f'{data_path}/feature_df', 'wb') as f:
        pickle.dump(feature_df, f)
    return(print('-- FEATURE ENGINEERING FINISHED --'))


def merge_assets_features(data_path):
    import os, pickle;
    import pandas as pd

    with open(f'{data_path}/feature_df', 'rb') as f:
        feature_df = pickle.load(f)
    with open(f'{data_path}/df_asset_details', 'rb') as g:
        df_asset_details = pickle.load(g)

    feature_df = pd.merge(feature_df, df_asset_details[['Asset_ID','Weight']], how='left', on=['Asset_ID'])

    with open(f'{data_path}/merge_feature_df', 'wb') as h:
        pickle.dump(feature_df, h)
    return(print('-- ASSETS FEATURES MERGED --'))


def modeling(data_path):
    import os, pickle, joblib;
    import pandas as pd
    import numpy as np
    import lightgbm as lgb
    from lightgbm import LGBMRegressor

    with open(f'{data_path}/merge_feature_df', 'rb') as f:
        feature_df = pickle.load(f)

    features = ['Asset_ID', 'RSI_30', 'ATR_30',
           'DEMA_30', 'RSI_120', 'ATR_120', 'DEMA_120', 'RSI_240', 'ATR_240',
           'DEMA_240', 'sma_30', 'return_30', 'sma_120', 'return_120', 'sma_240',
           'return_240', 'HL', 'OC', 'lower_shadow', 'upper_shadow', 'Day',
           'dayofyear', 'weekofyear', 'season']
    categoricals = ['Asset_ID']

    def weighted_correlation(a, train_data):
        weights = train_data.add_w.values.flatten()
        b = train_data.get_label()
        w = np.ravel(weights)
        a = np.ravel(a)
        b = np.ravel(b)
        sum_w = np.sum(w)
        mean_a = np.sum(a * w) / sum_w
        mean_b = np.sum(b * w) / sum_w
        var_a = np.sum(w * np.square(a - mean_a)) / sum_w
        var_b = np.sum(w * np.square(b - mean_b)) / sum_w
        cov = np.sum((a * b * w)) / np.sum(w) - mean_a * mean_b
        corr = cov / np.sqrt(var_a * var_b)
        return 'eval_wcorr', corr, True

    weights_train = feature_df.query('train_flg == 1')[['Weight']]
    weights_test = feature_df.query('train_flg == 0')[['Weight']]

    train_dataset = lgb.Dataset(feature_df.query('train_flg == 1')[features],
                                feature_df.query('train_flg == 1')['Target'].values,
                                feature_name = features,
                               categorical_feature= categoricals)
    val_dataset = lgb.Dataset(feature_df.query('train_flg == 0')[features],
                              feature_df.query('train_flg == 0')['Target'].values,
                              feature_name = features,
                             categorical_feature= categoricals)
    train_dataset.add_w = weights_train
    val_dataset.add_w = weights_test

    evals_result = {}
    params = {'n_estimators': 1200,
            'objective': 'regression',
            'metric': 'rmse',
            'boosting_type': 'gbdt',
            'max_depth': -1,
            'learning_rate': 0.01,
            'seed': 2022,
            'verbose': -1,
            }

    model = lgb.train(params = params,
                      train_set = train_dataset,
                      valid_sets = [val_dataset],
                      feval=weighted_correlation,
                      callbacks=[lgb.early_stopping(60), lgb.log_evaluation(30),
                                 lgb.record_evaluation(evals_result)],
                     )

    joblib.dump(model, f'{data_path}/lgb.jl')
    return(print('-- MODELED --'))


def evaluation_result(data_path):
    import json
    import joblib
    model = joblib.load(f'{data_path}/lgb.jl')
    root_mean_squared_error = model.best_score.get('valid_0').get('rmse')
    weighted_correlation = model.best_score.get('valid_0').get('eval_wcorr')
    metrics = {'metrics': [
        {'name': 'root-mean-squared-error', 'numberValue': root_mean_squared_error, 'format': 'RAW'},
        {'name': 'weighted-correlation', 'numberValue': weighted_correlation, 'format': 'RAW'}]}
    with open(f'{data_path}/lab-mlpipeline-metrics.json', "w") as f:
        json.dump(metrics, f)
    print(json.dumps(metrics))


if __name__ == "__main__":
    stage, data_path = sys.argv[1], sys.argv[2]
    globals()[stage](data_path)
